package volume

import (
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// projectedFiles merges the sources of a projected volume. Every source is
// tried and the errors reported together. serviceAccountToken sources are
// skipped (skiff cannot issue bound tokens yet), as are optional
// clusterTrustBundle sources; a required clusterTrustBundle and
// podCertificate fail.
func (o *op) projectedFiles(volName string, p *corev1.ProjectedVolumeSource) (map[string]file, error) {
	defaultMode := o.modeOr(p.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	out := map[string]file{}
	var errs []error
	for i := range p.Sources {
		files, err := o.projectionFiles(volName, &p.Sources[i], defaultMode)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for path, f := range files {
			out[path] = f
		}
	}
	return out, errors.Join(errs...)
}

func (o *op) projectionFiles(volName string, src *corev1.VolumeProjection, defaultMode os.FileMode) (map[string]file, error) {
	switch {
	case src.ConfigMap != nil:
		s := src.ConfigMap
		return o.configMapFiles(s.Name, s.Items, defaultMode, isTrue(s.Optional))
	case src.Secret != nil:
		s := src.Secret
		return o.secretFiles(s.Name, s.Items, defaultMode, isTrue(s.Optional))
	case src.DownwardAPI != nil:
		return o.downwardFiles(src.DownwardAPI.Items, defaultMode)
	case src.ServiceAccountToken != nil:
		o.m.logOnce("sat/"+string(o.pod.UID)+"/"+volName,
			"projected serviceAccountToken is not available yet; skipping it",
			"pod", o.pod.Namespace+"/"+o.pod.Name, "volume", volName, "path", src.ServiceAccountToken.Path)
		return nil, nil
	case src.ClusterTrustBundle != nil:
		if isTrue(src.ClusterTrustBundle.Optional) {
			o.m.logOnce("ctb/"+string(o.pod.UID)+"/"+volName,
				"projected clusterTrustBundle is not supported yet; skipping the optional source",
				"pod", o.pod.Namespace+"/"+o.pod.Name, "volume", volName)
			return nil, nil
		}
		return nil, fmt.Errorf("clusterTrustBundle projections are not supported yet (path %q)", src.ClusterTrustBundle.Path)
	case src.PodCertificate != nil:
		return nil, errors.New("podCertificate projections are not supported yet")
	}
	return nil, nil
}
