package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// nodeNameField is the node field a node selector term may match.
const nodeNameField = "metadata.name"

// placement says what a DaemonSet wants on a node: shouldRun, a pod should
// be there; shouldContinueRunning, a pod already there may stay (it
// tolerates the NoExecute taints even if not a NoSchedule one).
type placement struct {
	shouldRun, shouldContinueRunning bool
}

// nodePlacement decides whether ds runs a pod on node, judging the pod it
// would create there: its node name, node selector, required node
// affinity and tolerations.
func nodePlacement(node *corev1.Node, ds *appsv1.DaemonSet) placement {
	if n := ds.Spec.Template.Spec.NodeName; n != "" && n != node.Name {
		return placement{}
	}
	spec := podSpecForNode(&ds.Spec.Template.Spec, node.Name)
	if !matchesNodeSelector(spec, node) {
		return placement{}
	}
	if untolerated(node.Spec.Taints, spec.Tolerations, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return placement{shouldContinueRunning: !untolerated(node.Spec.Taints, spec.Tolerations, corev1.TaintEffectNoExecute)}
	}
	return placement{shouldRun: true, shouldContinueRunning: true}
}

// podSpecForNode copies the template's spec for a pod on node: pinned to
// it by node affinity, with the daemon tolerations.
func podSpecForNode(template *corev1.PodSpec, node string) *corev1.PodSpec {
	spec := template.DeepCopy()
	pinToNode(spec, node)
	addDaemonTolerations(spec)
	return spec
}

// pinToNode makes the pod's required node affinity select node by name:
// every term's field requirements become metadata.name In [node] (its
// label expressions stay); a pod without terms gets a single one.
func pinToNode(spec *corev1.PodSpec, node string) {
	req := []corev1.NodeSelectorRequirement{{Key: nodeNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil || len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: req}},
		}
		return
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		terms[i].MatchFields = []corev1.NodeSelectorRequirement{*req[0].DeepCopy()}
	}
}

// pinnedNode returns the node a pod runs on or is pinned to: its node
// name, else the single metadata.name In value of its required affinity.
func pinnedNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == nodeNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// daemonTolerations are the tolerations every daemon pod gets, so node
// conditions and cordoning do not keep it off or evict it.
var daemonTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

// hostNetworkToleration is added for pods on the host network, which do
// not need the node's pod network.
var hostNetworkToleration = corev1.Toleration{
	Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
}

func addDaemonTolerations(spec *corev1.PodSpec) {
	for _, t := range daemonTolerations {
		addOrUpdateToleration(spec, t)
	}
	if spec.HostNetwork {
		addOrUpdateToleration(spec, hostNetworkToleration)
	}
}

// addOrUpdateToleration replaces the tolerations with t's key, operator,
// value and effect by t (dropping a tolerationSeconds), or appends t.
func addOrUpdateToleration(spec *corev1.PodSpec, t corev1.Toleration) {
	var out []corev1.Toleration
	found := false
	for _, old := range spec.Tolerations {
		if old.Key == t.Key && old.Operator == t.Operator && old.Value == t.Value && old.Effect == t.Effect {
			if !found {
				out = append(out, t)
				found = true
			}
			continue
		}
		out = append(out, old)
	}
	if !found {
		out = append(out, t)
	}
	spec.Tolerations = out
}

// untolerated says some taint of the given effects is not tolerated.
func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration, effects ...corev1.TaintEffect) bool {
	for i := range taints {
		taint := &taints[i]
		if !hasEffect(taint.Effect, effects) {
			continue
		}
		if !tolerates(tolerations, taint) {
			return true
		}
	}
	return false
}

func hasEffect(e corev1.TaintEffect, effects []corev1.TaintEffect) bool {
	for _, x := range effects {
		if x == e {
			return true
		}
	}
	return false
}

func tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		t := &tolerations[i]
		if t.Effect != "" && t.Effect != taint.Effect {
			continue
		}
		if t.Key != "" && t.Key != taint.Key {
			continue
		}
		switch t.Operator {
		case corev1.TolerationOpExists:
			return true
		case "", corev1.TolerationOpEqual:
			if t.Value == taint.Value {
				return true
			}
		}
	}
	return false
}

// matchesNodeSelector says the node has the pod's nodeSelector labels and
// matches some term of its required node affinity.
func matchesNodeSelector(spec *corev1.PodSpec, node *corev1.Node) bool {
	for k, v := range spec.NodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for i := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(&a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i], node) {
			return true
		}
	}
	return false
}

// termMatches says all the term's label expressions and field requirements
// hold for node; an empty or malformed term matches nothing.
func termMatches(t *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	if len(t.MatchExpressions) > 0 {
		sel, ok := labelSelector(t.MatchExpressions)
		if !ok || !sel.Matches(labels.Set(node.Labels)) {
			return false
		}
	}
	for _, f := range t.MatchFields {
		if f.Key != nodeNameField || len(f.Values) != 1 {
			return false
		}
		switch f.Operator {
		case corev1.NodeSelectorOpIn:
			if node.Name != f.Values[0] {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if node.Name == f.Values[0] {
				return false
			}
		default:
			return false
		}
	}
	return true
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
	corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
}

func labelSelector(exprs []corev1.NodeSelectorRequirement) (labels.Selector, bool) {
	sel := labels.NewSelector()
	for _, e := range exprs {
		op, ok := nodeSelectorOps[e.Operator]
		if !ok {
			return nil, false
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, false
		}
		sel = sel.Add(*r)
	}
	return sel, true
}
