package volume

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// claimError is a claim the pod cannot use yet (missing, Pending, being
// deleted, or its volume not bound back to it). The pod waits in
// ContainerCreating and the agent tries again, as the kubelet does.
type claimError struct {
	namespace, name string
	err             error
}

func (e *claimError) Error() string {
	return fmt.Sprintf("error processing PVC %s/%s: %v", e.namespace, e.name, e.err)
}

func (e *claimError) Unwrap() error { return e.err }

// errClaimNotBound is the claimError cause for a Pending claim.
var errClaimNotBound = errors.New("PVC is not bound")

// setupClaim makes a persistentVolumeClaim volume ready: the claim must be
// bound to a volume that is bound back to it; then the volume's source is
// set up. A volume set up once for the pod is not looked up again.
func (o *op) setupClaim(v *corev1.Volume, ps *podState) (Volume, error) {
	if vol, ok := ps.claims[v.Name]; ok {
		return vol, nil
	}
	src := v.PersistentVolumeClaim
	pv, err := o.boundVolume(src.ClaimName)
	if err != nil {
		return Volume{}, err
	}
	vol, err := o.setupPersistentVolume(v, pv, src.ReadOnly)
	if err != nil {
		return Volume{}, err
	}
	ps.claims[v.Name] = vol
	return vol, nil
}

// boundVolume returns the volume the pod's claim is bound to.
func (o *op) boundVolume(claimName string) (*corev1.PersistentVolume, error) {
	ns := o.pod.Namespace
	fail := func(err error) (*corev1.PersistentVolume, error) {
		return nil, &claimError{namespace: ns, name: claimName, err: err}
	}
	client := o.m.cfg.Client
	if client == nil {
		return fail(errors.New("no API client"))
	}
	claim, err := client.CoreV1().PersistentVolumeClaims(ns).Get(o.ctx, claimName, metav1.GetOptions{})
	switch {
	case err != nil:
		return fail(fmt.Errorf("failed to fetch PVC from API server: %w", err))
	case claim.DeletionTimestamp != nil:
		return fail(fmt.Errorf("can't start pod because PVC %s/%s is being deleted", ns, claimName))
	case claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "":
		return fail(errClaimNotBound)
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(o.ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	switch {
	case err != nil:
		return fail(fmt.Errorf("failed to fetch PV %s from API server: %w", claim.Spec.VolumeName, err))
	case pv.Spec.ClaimRef == nil:
		return fail(fmt.Errorf("found PV object %q but it has a nil ClaimRef", pv.Name))
	case pv.Spec.ClaimRef.UID != claim.UID:
		return fail(fmt.Errorf("found PV object %q but its ClaimRef.UID (%q) does not point to claim.UID (%q)",
			pv.Name, pv.Spec.ClaimRef.UID, claim.UID))
	}
	return pv, nil
}

// setupPersistentVolume sets up a bound volume by its source.
func (o *op) setupPersistentVolume(v *corev1.Volume, pv *corev1.PersistentVolume, readOnly bool) (Volume, error) {
	if m := pv.Spec.VolumeMode; m != nil && *m == corev1.PersistentVolumeBlock {
		return Volume{}, fmt.Errorf("volume %s: volumeMode Block is not supported yet", pv.Name)
	}
	src := &pv.Spec.PersistentVolumeSource
	switch {
	case src.Local != nil:
		return o.setupLocal(v, pv, readOnly)
	case src.HostPath != nil:
		if err := checkHostPath(src.HostPath); err != nil {
			return Volume{}, err
		}
		return Volume{HostPath: src.HostPath.Path, ReadOnly: readOnly}, nil
	case src.CSI != nil:
		return o.setupCSI(pv, readOnly)
	}
	return Volume{}, fmt.Errorf("volume %s: only local, hostPath and CSI PersistentVolumes are supported", pv.Name)
}
