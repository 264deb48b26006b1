package plugins

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// PodTopologySpread's reasons.
const (
	errReasonSpread             = "node(s) didn't match pod topology spread constraints"
	errReasonSpreadMissingLabel = errReasonSpread + " (missing required label)"
)

// systemDefaultSpread is what pods without constraints of their own are
// spread by, over the pods selected with them by their Services and
// controller: gently across nodes and zones.
var systemDefaultSpread = []corev1.TopologySpreadConstraint{
	{MaxSkew: 3, TopologyKey: corev1.LabelHostname, WhenUnsatisfiable: corev1.ScheduleAnyway},
	{MaxSkew: 5, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway},
}

// Controller kinds whose selectors the default spreading uses.
var (
	replicationControllerKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
	replicaSetKind            = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	statefulSetKind           = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// podTopologySpread keeps the pods a constraint selects spread over
// topology domains: DoNotSchedule constraints filter nodes, ScheduleAnyway
// ones (and the system defaults) score them.
type podTopologySpread struct {
	owners    ownerListers
	cache     nodeCache
	prefilter stateSlot[*spreadFilterState]
	prescore  stateSlot[*spreadScoreState]
}

func newPodTopologySpread(owners ownerListers) *podTopologySpread {
	return &podTopologySpread{owners: owners}
}

func (*podTopologySpread) Name() string { return PodTopologySpreadName }

// spreadConstraint is a parsed constraint, with the defaults of its unset
// fields: minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore.
type spreadConstraint struct {
	maxSkew     int32
	topologyKey string
	selector    labels.Selector
	minDomains  int32
	// honorAffinity and honorTaints leave out of the domains the nodes
	// the pod's node affinity rejects, or whose taints it does not
	// tolerate.
	honorAffinity bool
	honorTaints   bool
	// selfMatch is 1 when the selector selects the pod itself.
	selfMatch int
	// counts are the pods in the pod's namespace the selector matches;
	// topo the domains of topologyKey.
	counts *podCounts
	topo   *topology
}

// constraints parses the pod's constraints with the action; pods with none
// get the system defaults (which only score).
func (pl *podTopologySpread) constraints(pod *corev1.Pod, action corev1.UnsatisfiableConstraintAction, snap *framework.Snapshot) ([]spreadConstraint, error) {
	var out []spreadConstraint
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		if action != corev1.ScheduleAnyway {
			return nil, nil
		}
		sel := pl.defaultSelector(pod)
		if sel.Empty() {
			return nil, nil
		}
		for _, c := range systemDefaultSpread {
			out = append(out, pl.newConstraint(pod, &c, sel, snap))
		}
		return out, nil
	}
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, fmt.Errorf("topology spread constraint %q: %w", c.TopologyKey, err)
		}
		out = append(out, pl.newConstraint(pod, c, withMatchLabelKeys(sel, c.MatchLabelKeys, pod.Labels), snap))
	}
	return out, nil
}

func (pl *podTopologySpread) newConstraint(pod *corev1.Pod, c *corev1.TopologySpreadConstraint, sel labels.Selector, snap *framework.Snapshot) spreadConstraint {
	sc := spreadConstraint{
		maxSkew: c.MaxSkew, topologyKey: c.TopologyKey, selector: sel, minDomains: 1,
		honorAffinity: c.NodeAffinityPolicy == nil || *c.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
		honorTaints:   c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
	}
	if c.MinDomains != nil {
		sc.minDomains = *c.MinDomains
	}
	if sel.Matches(labels.Set(pod.Labels)) {
		sc.selfMatch = 1
	}
	sc.topo = pl.cache.topology(c.TopologyKey, snap)
	ns := pod.Namespace
	sc.counts = pl.cache.forSelector(ns+"\x00"+selectorKey(sel), snap, func(p *framework.PodInfo) bool {
		// Terminating pods are about to leave their domain.
		return p.Pod.Namespace == ns && p.Pod.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Pod.Labels))
	})
	return sc
}

// withMatchLabelKeys adds to sel, for each key the pod has a label for,
// key=value (as kube-scheduler merges matchLabelKeys, starting from the
// pod's labels).
func withMatchLabelKeys(sel labels.Selector, keys []string, podLabels map[string]string) labels.Selector {
	set := labels.Set{}
	for _, k := range keys {
		if v, ok := podLabels[k]; ok {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return sel
	}
	merged := labels.SelectorFromSet(set)
	if reqs, ok := sel.Requirements(); ok {
		merged = merged.Add(reqs...)
	}
	return merged
}

// defaultSelector selects what the pod's Services and its
// ReplicationController, ReplicaSet or StatefulSet select; empty when
// nothing selects or owns it.
func (pl *podTopologySpread) defaultSelector(pod *corev1.Pod) labels.Selector {
	set := labels.Set{}
	if pl.owners.services != nil {
		if svcs, err := pl.owners.services.Services(pod.Namespace).List(labels.Everything()); err == nil {
			for _, s := range svcs {
				// A Service without a selector selects nothing.
				if s.Spec.Selector != nil && subset(s.Spec.Selector, pod.Labels) {
					set = labels.Merge(set, s.Spec.Selector)
				}
			}
		}
	}
	sel := labels.SelectorFromSet(set)
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil || pl.owners.services == nil {
		return sel
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return sel
	}
	var ls *metav1.LabelSelector
	switch gv.WithKind(owner.Kind) {
	case replicationControllerKind:
		if rc, err := pl.owners.controllers.ReplicationControllers(pod.Namespace).Get(owner.Name); err == nil {
			return labels.SelectorFromSet(labels.Merge(set, rc.Spec.Selector))
		}
	case replicaSetKind:
		if rs, err := pl.owners.replicaSets.ReplicaSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = rs.Spec.Selector
		}
	case statefulSetKind:
		if ss, err := pl.owners.statefulSets.StatefulSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = ss.Spec.Selector
		}
	}
	if ls == nil {
		return sel
	}
	if other, err := metav1.LabelSelectorAsSelector(ls); err == nil {
		if reqs, ok := other.Requirements(); ok {
			sel = sel.Add(reqs...)
		}
	}
	return sel
}

// subset says every key=value of sel is in set.
func subset(sel, set map[string]string) bool {
	for k, v := range sel {
		if got, ok := set[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// hasTopologyKeys says the node at position pos has a label for every
// constraint's key.
func hasTopologyKeys(pos int, n *framework.NodeInfo, cs []spreadConstraint) bool {
	for i := range cs {
		if cs[i].topo.domain(pos, n) == noDomain {
			return false
		}
	}
	return true
}

// includes says the node's domain counts for the constraint under its
// node inclusion policies; affinityOK is whether the pod's required node
// affinity matches the node.
func (c *spreadConstraint) includes(pod *corev1.Pod, node *corev1.Node, affinityOK bool) bool {
	if c.honorAffinity && !affinityOK {
		return false
	}
	if c.honorTaints {
		if _, bad := untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations); bad {
			return false
		}
	}
	return true
}
