package plugins

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/controller/volume/pvmatch"
	"github.com/skiff/skiff/internal/scheduler/framework"
)

// VolumeBinding's reasons.
const (
	errReasonVolumeNodeConflict = "node(s) had volume node affinity conflict"
	errReasonVolumeMissing      = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	errReasonUnboundImmediate   = "pod has unbound immediate PersistentVolumeClaims"
	errReasonBindConflict       = "node(s) didn't find available persistent volumes to bind"
)

// noProvisioner is the provisioner of classes for static volumes only.
const noProvisioner = "kubernetes.io/no-provisioner"

const volumeBindingPreFilterKey = "PreFilter" + VolumeBindingName

// volumeBinding is a lite VolumeBinding: a pod's claims must exist; bound
// ones pin the pod to the nodes their volume's node affinity allows;
// unbound ones must wait for the pod (WaitForFirstConsumer), as claims
// with immediate binding are bound before their pods schedule, and need a
// node where an available volume fits them (pvmatch, as the volume
// controller will choose) or their class can provision (allowedTopologies;
// the claim's selected node, once it has one). It neither binds nor
// provisions: the volume controller does, for the node the pod is bound
// to. A claim counts as bound once it names its volume.
type volumeBinding struct {
	listers   volumeListers
	prefilter stateSlot[*volumeState]
}

// volumeState is what PreFilter learns about the pod's claims.
type volumeState struct {
	bound   []boundVolume
	unbound []unboundClaim
}

// unboundClaim is a WaitForFirstConsumer claim not bound yet.
type unboundClaim struct {
	claim *corev1.PersistentVolumeClaim
	// selectedNode, when set, is the only node the claim can be served
	// on: its volume is being provisioned there.
	selectedNode string
	// candidates are the volumes that could serve it, best first; Filter
	// checks their node affinity.
	candidates []*corev1.PersistentVolume
	// provisions: the class has a provisioner, on nodes its
	// allowedTopologies (none: all) admit.
	provisions bool
	topology   []corev1.TopologySelectorTerm
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
// claims skip.
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
	vs := &volumeState{}
	var volumes []*corev1.PersistentVolume
	immediate := false
	for _, c := range claims {
		if c.Spec.VolumeName != "" {
			vs.bound = append(vs.bound, pl.volume(c.Spec.VolumeName))
			continue
		}
		class, wait, err := pl.waitsForConsumer(c)
		if err != nil {
			return status(VolumeBindingName, framework.Error, err.Error())
		}
		if !wait {
			immediate = true
			continue
		}
		if volumes == nil {
			if volumes, err = pl.listers.volumes.List(labels.Everything()); err != nil {
				return status(VolumeBindingName, framework.Error, err.Error())
			}
		}
		vs.unbound = append(vs.unbound, newUnboundClaim(c, class, volumes))
	}
	if immediate {
		return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, errReasonUnboundImmediate)
	}
	pl.prefilter.write(state, volumeBindingPreFilterKey, vs)
	return nil
}

func newUnboundClaim(c *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, volumes []*corev1.PersistentVolume) unboundClaim {
	return unboundClaim{
		claim:        c,
		selectedNode: c.Annotations[annSelectedNode],
		candidates:   pvmatch.Candidates(c, volumes, false),
		provisions:   class.Provisioner != "" && class.Provisioner != noProvisioner,
		topology:     class.AllowedTopologies,
	}
}

// annSelectedNode on a claim names the node its volume is provisioned on.
const annSelectedNode = "volume.kubernetes.io/selected-node"

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
// using it is scheduled, and returns the class. Claims without a class,
// or whose class does not exist, bind immediately.
func (pl *volumeBinding) waitsForConsumer(c *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, bool, error) {
	name := pvmatch.ClaimClass(c)
	if name == "" {
		return nil, false, nil
	}
	class, err := pl.listers.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage class %q: %w", name, err)
	}
	if class.VolumeBindingMode == nil {
		return nil, false, fmt.Errorf("VolumeBindingMode not set for StorageClass %q", name)
	}
	return class, *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

// Filter rejects the node when a bound claim's volume is missing or
// unreachable from it, or an unbound claim can be served there neither
// by an available volume nor by provisioning. The node's labels alone are
// matched, as kube-scheduler matches volume node affinity (matchFields
// are ignored).
func (pl *volumeBinding) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	vs, ok := pl.prefilter.read(state, volumeBindingPreFilterKey)
	if !ok {
		return missingState(VolumeBindingName, volumeBindingPreFilterKey)
	}
	var reasons []string
	for i := range vs.bound {
		v := &vs.bound[i]
		if v.missing {
			return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, errReasonVolumeMissing)
		}
		if v.hasAffinity && !v.affinity.matchesLabels(n.Node) {
			reasons = append(reasons, errReasonVolumeNodeConflict)
			break
		}
	}
	if !unboundFit(vs.unbound, n.Node) {
		reasons = append(reasons, errReasonBindConflict)
	}
	if len(reasons) > 0 {
		return status(VolumeBindingName, framework.UnschedulableAndUnresolvable, reasons...)
	}
	return nil
}

// unboundFit says every unbound claim can be served on the node, each by
// its own volume.
func unboundFit(unbound []unboundClaim, node *corev1.Node) bool {
	var chosen map[string]bool
	for i := range unbound {
		u := &unbound[i]
		if u.selectedNode != "" && u.selectedNode != node.Name {
			return false
		}
		opts := pvmatch.Options{NodeLabels: labelsOf(node), Skip: func(name string) bool { return chosen[name] }}
		if pv := pvmatch.Pick(u.claim, u.candidates, opts); pv != nil {
			if chosen == nil {
				chosen = map[string]bool{}
			}
			chosen[pv.Name] = true
			continue
		}
		if !u.provisions || !topologyAllows(u.topology, node) {
			return false
		}
	}
	return true
}

func labelsOf(node *corev1.Node) map[string]string {
	if node.Labels == nil {
		return map[string]string{}
	}
	return node.Labels
}

// topologyAllows says a class's allowedTopologies admit the node: no
// terms, or a term (with expressions) all of whose keys the node has with
// one of the values.
func topologyAllows(terms []corev1.TopologySelectorTerm, node *corev1.Node) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		if len(t.MatchLabelExpressions) > 0 && topologyTermMatches(t, node.Labels) {
			return true
		}
	}
	return false
}

func topologyTermMatches(t corev1.TopologySelectorTerm, nodeLabels map[string]string) bool {
	for _, req := range t.MatchLabelExpressions {
		v, ok := nodeLabels[req.Key]
		if !ok || !slices.Contains(req.Values, v) {
			return false
		}
	}
	return true
}
