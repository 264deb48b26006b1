package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// NodeAffinity's reasons.
const (
	errReasonNodeAffinity         = "node(s) didn't match Pod's node affinity/selector"
	errReasonNodeAffinityConflict = "pod affinity terms conflict"
)

const (
	nodeAffinityPreFilterKey = "PreFilter" + NodeAffinityName
	nodeAffinityPreScoreKey  = "PreScore" + NodeAffinityName
)

// nodeAffinity keeps pods on the nodes their nodeSelector and required
// node affinity allow, and prefers nodes by their preferred terms.
type nodeAffinity struct {
	prefilter stateSlot[*requiredAffinity]
	prescore  stateSlot[[]preferredTerm]
}

func (pl *nodeAffinity) Name() string { return NodeAffinityName }

// PreFilter parses the pod's node constraints, skipping pods without any.
// Terms that each name nodes by metadata.name, with no name common to all
// of a term's requirements, can match no node: the pod is refused at once.
func (pl *nodeAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) *framework.Status {
	ra := podStateOf(state, pod).requiredAffinity()
	if ra.empty() {
		return skip()
	}
	pl.prefilter.write(state, nodeAffinityPreFilterKey, ra)
	if namedNodesConflict(pod) {
		return status(NodeAffinityName, framework.UnschedulableAndUnresolvable, errReasonNodeAffinityConflict)
	}
	return nil
}

// namedNodesConflict says every required term restricts metadata.name
// with In and none leaves a name (the intersection of a term's In lists).
func namedNodesConflict(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return false
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		var names map[string]bool
		for _, r := range t.MatchFields {
			if r.Key != nodeNameField || r.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			next := map[string]bool{}
			for _, v := range r.Values {
				if names == nil || names[v] {
					next[v] = true
				}
			}
			names = next
		}
		if names == nil || len(names) > 0 {
			return false
		}
	}
	return true
}

// Filter checks the node against the parsed constraints.
func (pl *nodeAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	ra, ok := pl.prefilter.read(state, nodeAffinityPreFilterKey)
	if !ok {
		ra = newRequiredAffinity(pod)
	}
	if ra.matches(n.Node) {
		return nil
	}
	return status(NodeAffinityName, framework.UnschedulableAndUnresolvable, errReasonNodeAffinity)
}

// preferredTerm is a parsed preferred node affinity term.
type preferredTerm struct {
	term   nodeSelectorTerm
	weight int64
}

// PreScore parses the preferred terms, skipping pods without any. Terms
// with weight 0 or no requirements count for nothing; terms that do not
// parse match no node.
func (pl *nodeAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return skip()
	}
	var terms []preferredTerm
	for i := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		p := &a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
		if p.Weight == 0 || (len(p.Preference.MatchExpressions) == 0 && len(p.Preference.MatchFields) == 0) {
			continue
		}
		terms = append(terms, preferredTerm{term: newNodeSelectorTerm(&p.Preference), weight: int64(p.Weight)})
	}
	if len(terms) == 0 {
		return skip()
	}
	pl.prescore.write(state, nodeAffinityPreScoreKey, terms)
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (pl *nodeAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	terms, ok := pl.prescore.read(state, nodeAffinityPreScoreKey)
	if !ok {
		return 0, missingState(NodeAffinityName, nodeAffinityPreScoreKey)
	}
	var score int64
	for i := range terms {
		if terms[i].term.matches(n.Node, true) {
			score += terms[i].weight
		}
	}
	return score, nil
}

// NormalizeScore scales the sums so the best node scores MaxNodeScore.
func (pl *nodeAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	normalizeToMax(scores, false)
	return nil
}
