package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MountError is the error for one volume that could not be set up. Its
// message reads like the kubelet's FailedMount event:
// `MountVolume.SetUp failed for volume "cfg" : configmap "x" not found`.
type MountError struct {
	Volume string
	Err    error
}

func (e *MountError) Error() string {
	var ce *claimError
	if errors.As(e.Err, &ce) {
		// The kubelet's words for a volume it cannot even start on.
		return fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[], failed to process volumes=[%s]: %v",
			e.Volume, e.Volume, e.Err)
	}
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

// Unwrap returns the cause (apierrors.IsNotFound works on it for a missing
// ConfigMap or Secret).
func (e *MountError) Unwrap() error { return e.Err }

// MountErrors returns every *MountError in err (Setup and Refresh join one
// per failed volume), for one FailedMount event each.
func MountErrors(err error) []*MountError {
	var out []*MountError
	var walk func(error)
	walk = func(err error) {
		var me *MountError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			if errors.As(err, &me) {
				out = append(out, me)
			}
		}
	}
	walk(err)
	return out
}

// Setup makes every volume of pod ready and returns them by name. It is
// idempotent and meant to be called on every sync: content that did not
// change is not rewritten, tmpfs mounts are not repeated. Volumes that fail
// are left out of the result and reported in the error, one *MountError per
// volume (see MountErrors); the others are still set up.
func (m *Manager) Setup(ctx context.Context, pod *corev1.Pod) (Volumes, error) {
	if err := checkName("pod UID", string(pod.UID)); err != nil {
		return nil, err
	}
	ps := m.lockPod(pod.UID)
	defer ps.mu.Unlock()
	o, err := m.newOp(ctx, pod)
	if err != nil {
		return nil, err
	}
	vols := make(Volumes, len(pod.Spec.Volumes))
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		vol, _, err := o.setupVolume(v, ps, false)
		if err != nil {
			errs = append(errs, &MountError{Volume: v.Name, Err: err})
			continue
		}
		vols[v.Name] = vol
	}
	return vols, errors.Join(errs...)
}

// Refresh rewrites the configMap, secret, downwardAPI and projected volumes
// of pod whose content changed, and reports whether any did. Only volumes
// Setup created are touched; unchanged content is left alone; content whose
// source cannot be read (for example a ConfigMap deleted after the pod
// started) is kept and the error reported.
func (m *Manager) Refresh(ctx context.Context, pod *corev1.Pod) (bool, error) {
	if err := checkName("pod UID", string(pod.UID)); err != nil {
		return false, err
	}
	ps := m.lockPod(pod.UID)
	defer ps.mu.Unlock()
	o, err := m.newOp(ctx, pod)
	if err != nil {
		return false, err
	}
	changed := false
	var errs []error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		_, c, err := o.setupVolume(v, ps, true)
		if err != nil {
			errs = append(errs, &MountError{Volume: v.Name, Err: err})
		}
		changed = changed || c
	}
	return changed, errors.Join(errs...)
}

// setupVolume prepares one volume; contentOnly restricts it to the volumes
// whose content comes from the API (Refresh).
func (o *op) setupVolume(v *corev1.Volume, ps *podState, contentOnly bool) (Volume, bool, error) {
	if err := checkName("volume name", v.Name); err != nil {
		return Volume{}, false, err
	}
	src := &v.VolumeSource
	switch {
	case src.ConfigMap != nil, src.Secret != nil, src.DownwardAPI != nil, src.Projected != nil:
		return o.setupContent(v, contentOnly)
	case contentOnly:
		return Volume{}, false, nil
	case src.EmptyDir != nil:
		vol, err := o.setupEmptyDir(v, ps)
		return vol, false, err
	case src.HostPath != nil:
		vol, err := o.setupHostPath(v, ps)
		return vol, false, err
	case src.PersistentVolumeClaim != nil:
		vol, err := o.setupClaim(v, ps)
		return vol, false, err
	case src.CSI != nil:
		// The kubelet serves these only for drivers whose CSIDriver object
		// allows the Ephemeral lifecycle mode; skiff has no CSIDriver yet.
		return Volume{}, false, fmt.Errorf("inline CSI volumes are not supported yet (driver %q)", src.CSI.Driver)
	case src.Ephemeral != nil:
		return Volume{}, false, errors.New("ephemeral volumes are not supported yet")
	case src.Image != nil:
		return Volume{}, false, errors.New("image volumes are not supported yet")
	}
	return Volume{}, false, errors.New("unsupported volume type")
}

// allocatableTTL is how long the node's allocatable resources are reused.
const allocatableTTL = time.Minute

// fetchAllocatable reads this node's allocatable resources (cached for
// allocatableTTL; Refresh may need them every few seconds).
func (m *Manager) fetchAllocatable(ctx context.Context) (corev1.ResourceList, error) {
	m.allocMu.Lock()
	defer m.allocMu.Unlock()
	if m.alloc != nil && time.Since(m.allocAt) < allocatableTTL {
		return m.alloc, nil
	}
	if m.cfg.Client == nil || m.cfg.NodeName == "" {
		return nil, errors.New("node allocatable resources unknown: no API client or node name")
	}
	node, err := m.cfg.Client.CoreV1().Nodes().Get(ctx, m.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading node %s: %w", m.cfg.NodeName, err)
	}
	m.alloc, m.allocAt = node.Status.Allocatable, time.Now()
	return m.alloc, nil
}
