package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff/skiff/internal/agent/envvars"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// file is one file of a volume's content.
type file struct {
	data []byte
	mode os.FileMode
}

// setupContent prepares a configMap, secret, downwardAPI or projected
// volume: it computes the content first (so a missing source creates
// nothing), makes the directory (a tmpfs for all but configMap) and writes
// the content atomically when it changed. With existingOnly (Refresh) a
// volume Setup has not created is left alone.
func (o *op) setupContent(v *corev1.Volume, existingOnly bool) (Volume, bool, error) {
	if existingOnly {
		if _, err := os.Lstat(o.volumeDir(contentPlugin(v), v.Name)); err != nil {
			return Volume{}, false, nil
		}
	}
	plugin, onTmpfs, payload, err := o.contentPayload(v)
	if err == nil {
		payload, err = cleanPayload(payload)
	}
	if err != nil {
		return Volume{}, false, err
	}
	dir := o.volumeDir(plugin, v.Name)
	var fresh bool
	if onTmpfs {
		fresh, err = o.ensureTmpfs(dir, nil)
	} else {
		fresh, err = ensureDir(dir, emptyDirPerm)
	}
	if err != nil {
		return Volume{}, false, err
	}
	if fresh && o.gid >= 0 {
		if err := applyGroup(dir, o.gid, os.ModeSetgid); err != nil {
			return Volume{}, false, err
		}
	}
	changed, err := writeAtomic(dir, payload, o.gid)
	if err != nil {
		return Volume{}, false, err
	}
	if changed {
		o.m.log.Debug("volume content written", "pod", o.pod.Namespace+"/"+o.pod.Name, "volume", v.Name)
	}
	return Volume{HostPath: dir, ReadOnly: true}, changed, nil
}

// contentPlugin is the plugin directory of a content volume.
func contentPlugin(v *corev1.Volume) string {
	switch {
	case v.ConfigMap != nil:
		return pluginConfigMap
	case v.Secret != nil:
		return pluginSecret
	case v.DownwardAPI != nil:
		return pluginDownwardAPI
	}
	return pluginProjected
}

func (o *op) contentPayload(v *corev1.Volume) (string, bool, map[string]file, error) {
	src := &v.VolumeSource
	switch {
	case src.ConfigMap != nil:
		s := src.ConfigMap
		p, err := o.configMapFiles(s.Name, s.Items, o.modeOr(s.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode), isTrue(s.Optional))
		return pluginConfigMap, false, p, err
	case src.Secret != nil:
		s := src.Secret
		p, err := o.secretFiles(s.SecretName, s.Items, o.modeOr(s.DefaultMode, corev1.SecretVolumeSourceDefaultMode), isTrue(s.Optional))
		return pluginSecret, true, p, err
	case src.DownwardAPI != nil:
		s := src.DownwardAPI
		p, err := o.downwardFiles(s.Items, o.modeOr(s.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode))
		return pluginDownwardAPI, true, p, err
	default:
		p, err := o.projectedFiles(v.Name, src.Projected)
		return pluginProjected, true, p, err
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// modeOr returns *m, or def when m is nil, as a file mode; with an fsGroup
// the group may read every file, as the kubelet's ownership pass does.
func (o *op) modeOr(m *int32, def int32) os.FileMode {
	if m != nil {
		def = *m
	}
	mode := os.FileMode(def) & os.ModePerm
	if o.gid >= 0 {
		mode |= 0o440
	}
	return mode
}

// keyFiles projects data: every key with defaultMode, or only items
// (key -> path, with their own mode). A missing item key fails unless the
// source is optional.
func (o *op) keyFiles(kind string, data map[string][]byte, items []corev1.KeyToPath, defaultMode os.FileMode, optional bool) (map[string]file, error) {
	out := make(map[string]file, len(data))
	if len(items) == 0 {
		for k, v := range data {
			out[k] = file{data: v, mode: defaultMode}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			if kind == "configmap" {
				return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		mode := defaultMode
		if it.Mode != nil {
			mode = o.modeOr(it.Mode, 0)
		}
		out[it.Path] = file{data: v, mode: mode}
	}
	return out, nil
}

func (o *op) configMapFiles(name string, items []corev1.KeyToPath, mode os.FileMode, optional bool) (map[string]file, error) {
	if o.m.cfg.Client == nil {
		return nil, fmt.Errorf("couldn't get configMap %s/%s: no API client", o.pod.Namespace, name)
	}
	cm, err := o.m.cfg.Client.CoreV1().ConfigMaps(o.pod.Namespace).Get(o.ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && optional:
		return map[string]file{}, nil
	case apierrors.IsNotFound(err):
		return nil, envvars.NotFound("configmap", name)
	case err != nil:
		return nil, fmt.Errorf("couldn't get configMap %s/%s: %w", o.pod.Namespace, name, err)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return o.keyFiles("configmap", data, items, mode, optional)
}

func (o *op) secretFiles(name string, items []corev1.KeyToPath, mode os.FileMode, optional bool) (map[string]file, error) {
	if o.m.cfg.Client == nil {
		return nil, fmt.Errorf("couldn't get secret %s/%s: no API client", o.pod.Namespace, name)
	}
	s, err := o.m.cfg.Client.CoreV1().Secrets(o.pod.Namespace).Get(o.ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && optional:
		return map[string]file{}, nil
	case apierrors.IsNotFound(err):
		return nil, envvars.NotFound("secret", name)
	case err != nil:
		return nil, fmt.Errorf("couldn't get secret %s/%s: %w", o.pod.Namespace, name, err)
	}
	return o.keyFiles("secret", s.Data, items, mode, optional)
}

// downwardFiles projects pod fields and container resources. Every item is
// tried; the errors are reported together.
func (o *op) downwardFiles(items []corev1.DownwardAPIVolumeFile, defaultMode os.FileMode) (map[string]file, error) {
	out := make(map[string]file, len(items))
	var errs []error
	for _, it := range items {
		mode := defaultMode
		if it.Mode != nil {
			mode = o.modeOr(it.Mode, 0)
		}
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			if v := it.FieldRef.APIVersion; v != "" && v != "v1" {
				err = fmt.Errorf("unsupported pod version: %s", v)
			} else {
				val, err = envvars.PodFieldValue(o.pod, it.FieldRef.FieldPath)
			}
		case it.ResourceFieldRef != nil:
			val, err = o.resourceValue(it.ResourceFieldRef)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", it.Path, err))
			continue
		}
		out[filepath.Clean(it.Path)] = file{data: []byte(val), mode: mode}
	}
	return out, errors.Join(errs...)
}

// resourceValue resolves a resourceFieldRef; the node's allocatable
// resources are needed (and fetched) only for a limit the container leaves
// unset.
func (o *op) resourceValue(sel *corev1.ResourceFieldSelector) (string, error) {
	var alloc corev1.ResourceList
	if !o.hasOwnLimit(sel) {
		var err error
		if alloc, err = o.allocatable(); err != nil {
			return "", err
		}
	}
	return envvars.ResourceFieldValue(sel, o.pod, nil, alloc)
}

func (o *op) hasOwnLimit(sel *corev1.ResourceFieldSelector) bool {
	name, ok := strings.CutPrefix(sel.Resource, "limits.")
	if !ok {
		return true // requests never fall back
	}
	for _, cs := range [][]corev1.Container{o.pod.Spec.Containers, o.pod.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == sel.ContainerName {
				q, set := c.Resources.Limits[corev1.ResourceName(name)]
				return set && !q.IsZero()
			}
		}
	}
	return true // unknown container: ResourceFieldValue reports it
}
