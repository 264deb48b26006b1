package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// VolumeBinding's reasons.
const (
	errReasonVolumeNodeConflict = "node(s) had volume node affinity conflict"
	errReasonVolumeMissing      = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	errReasonUnboundImmediate   = "pod has unbound immediate PersistentVolumeClaims"
)

const volumeBindingPreFilterKey = "PreFilter" + VolumeBindingName

// betaStorageClassAnnotation names a claim's class before
// spec.storageClassName existed; it still wins.
const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

// volumeBinding is a lite VolumeBinding: a pod's claims must exist; bound
// ones pin the pod to the nodes their volume's node affinity allows;
// unbound ones must wait for the pod (WaitForFirstConsumer), as claims
// with immediate binding are bound before their pods schedule. It neither
// picks volumes for unbound claims nor provisions: the storage controller
// binds them once the pod has a node. A claim counts as bound once it
// names its volume.
type volumeBinding struct {
	listers   volumeListers
	prefilter stateSlot[[]boundVolume]
}

func (*volumeBinding) Name() string { return VolumeBindingName }

// boundVolume is the volume of one bound claim.
type boundVolume struct {
	// missing: the claim names a volume that does not exist.
	missing bool
	// affinity, when hasAffinity, are the nodes the volume is reachable
	// from.
	affinity    nodeSelector
	hasAffinity bool
}

// claimRef is a claim a pod's volume uses; ephemeral volumes use the
// claim named <pod>-<volume> that the pod owns.
type claimRef struct {
	name      string
	ephemeral bool
}

func podClaims(pod *corev1.Pod) []claimRef {
	var out []claimRef
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, claimRef{name: v.PersistentVolumeClaim.ClaimName})
		case v.Ephemeral != nil:
			out = append(out, claimRef{name: pod.Name + "-" + v.Name, ephemeral: true})
		}
	}
	return out
}

// PreFilter looks up the pod's claims and their volumes, refusing the pod
// when a claim is missing, lost, being deleted, not the pod's own (for an
// ephemeral volume), or unbound with immediate binding. Pods without
// claims, or whose claims all wait for the pod, skip.
func (pl *volumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) *framework.Status {
	refs := podClaims(pod)
	if len(refs) == 0 {
		return skip()
	}
	if pl.listers.claims == nil {
		return status(VolumeBindingName, framework.Error, "no PersistentVolumeClaim lister")
	}
	claims := make([]*corev1.PersistentVolumeClaim, len(refs))
	for i, ref := range refs {
		c, msg := pl.claim(pod, ref)
		if msg != "" {
			return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, msg)
		}
		claims[i] = c
	}
	var bound []boundVolume
	immediate := false
	for _, c := range claims {
		if c.Spec.VolumeName != "" {
			bound = append(bound, pl.volume(c.Spec.VolumeName))
			continue
		}
		wait, err := pl.waitsForConsumer(c)
		if err != nil {
			return status(VolumeBindingName, framework.Error, err.Error())
		}
		immediate = immediate || !wait
	}
	if immediate {
		return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, errReasonUnboundImmediate)
	}
	if len(bound) == 0 {
		return skip()
	}
	pl.prefilter.write(state, volumeBindingPreFilterKey, bound)
	return nil
}

// claim gets a claim, or the reason the pod cannot use it.
func (pl *volumeBinding) claim(pod *corev1.Pod, ref claimRef) (*corev1.PersistentVolumeClaim, string) {
	c, err := pl.listers.claims.PersistentVolumeClaims(pod.Namespace).Get(ref.name)
	switch {
	case apierrors.IsNotFound(err) && ref.ephemeral:
		return nil, fmt.Sprintf("waiting for ephemeral volume controller to create the persistentvolumeclaim %q", ref.name)
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("persistentvolumeclaim %q not found", ref.name)
	case err != nil:
		return nil, err.Error()
	case c.Status.Phase == corev1.ClaimLost:
		return nil, fmt.Sprintf("persistentvolumeclaim %q bound to non-existent persistentvolume %q", c.Name, c.Spec.VolumeName)
	case c.DeletionTimestamp != nil:
		return nil, fmt.Sprintf("persistentvolumeclaim %q is being deleted", c.Name)
	case ref.ephemeral && !metav1.IsControlledBy(c, pod):
		return nil, fmt.Sprintf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", c.Namespace, c.Name, pod.Namespace, pod.Name)
	}
	return c, ""
}

// volume looks up a bound claim's volume and parses its node affinity.
func (pl *volumeBinding) volume(name string) boundVolume {
	pv, err := pl.listers.volumes.Get(name)
	if err != nil {
		return boundVolume{missing: true}
	}
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil {
		return boundVolume{affinity: newNodeSelector(a.Required.NodeSelectorTerms), hasAffinity: true}
	}
	return boundVolume{}
}

// waitsForConsumer says the claim's StorageClass binds it once a pod
// using it is scheduled. Claims without a class, or whose class does not
// exist, bind immediately.
func (pl *volumeBinding) waitsForConsumer(c *corev1.PersistentVolumeClaim) (bool, error) {
	name, ok := c.Annotations[betaStorageClassAnnotation]
	if !ok && c.Spec.StorageClassName != nil {
		name = *c.Spec.StorageClassName
	}
	if name == "" {
		return false, nil
	}
	class, err := pl.listers.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage class %q: %w", name, err)
	}
	if class.VolumeBindingMode == nil {
		return false, fmt.Errorf("VolumeBindingMode not set for StorageClass %q", name)
	}
	return *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

// Filter rejects the node at the first bound claim whose volume is
// missing or unreachable from it. The node's labels alone are matched, as
// kube-scheduler matches volume node affinity (matchFields are ignored).
func (pl *volumeBinding) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	bound, ok := pl.prefilter.read(state, volumeBindingPreFilterKey)
	if !ok {
		return missingState(VolumeBindingName, volumeBindingPreFilterKey)
	}
	for i := range bound {
		switch v := &bound[i]; {
		case v.missing:
			return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, errReasonVolumeMissing)
		case v.hasAffinity && !v.affinity.matchesLabels(n.Node):
			return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, errReasonVolumeNodeConflict)
		}
	}
	return nil
}
