package plugins

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// nodeNameField is the one field node selector terms may match.
const nodeNameField = "metadata.name"

// nodeSelector is a parsed corev1.NodeSelector: a node matches when any
// term does. Terms that are empty or do not parse match no node, as in
// kube-scheduler (which also ignores the parse errors when filtering).
type nodeSelector []nodeSelectorTerm

// nodeSelectorTerm is one parsed term: all its label expressions and
// field requirements must hold.
type nodeSelectorTerm struct {
	labels  labels.Selector // nil: no label expressions
	fields  []fieldRequirement
	invalid bool
}

// fieldRequirement is metadata.name In [value] (in) or NotIn [value].
type fieldRequirement struct {
	key   string
	value string
	in    bool
}

// newNodeSelector parses terms, leaving out the empty ones.
func newNodeSelector(terms []corev1.NodeSelectorTerm) nodeSelector {
	out := make(nodeSelector, 0, len(terms))
	for i := range terms {
		t := &terms[i]
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue
		}
		out = append(out, newNodeSelectorTerm(t))
	}
	return out
}

func newNodeSelectorTerm(t *corev1.NodeSelectorTerm) nodeSelectorTerm {
	var term nodeSelectorTerm
	if len(t.MatchExpressions) > 0 {
		sel, ok := labelRequirements(t.MatchExpressions)
		term.labels, term.invalid = sel, !ok
	}
	for _, r := range t.MatchFields {
		in := r.Operator == corev1.NodeSelectorOpIn
		if len(r.Values) != 1 || (!in && r.Operator != corev1.NodeSelectorOpNotIn) {
			term.invalid = true
			continue
		}
		term.fields = append(term.fields, fieldRequirement{key: r.Key, value: r.Values[0], in: in})
	}
	return term
}

// labelRequirements parses label expressions with all six operators.
func labelRequirements(exprs []corev1.NodeSelectorRequirement) (labels.Selector, bool) {
	sel := labels.NewSelector()
	for _, e := range exprs {
		var op selection.Operator
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			op = selection.In
		case corev1.NodeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.NodeSelectorOpExists:
			op = selection.Exists
		case corev1.NodeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		case corev1.NodeSelectorOpGt:
			op = selection.GreaterThan
		case corev1.NodeSelectorOpLt:
			op = selection.LessThan
		default:
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

// matches says some term matches the node.
func (s nodeSelector) matches(node *corev1.Node) bool {
	for i := range s {
		if s[i].matches(node, true) {
			return true
		}
	}
	return false
}

// matchesLabels is matches ignoring matchFields, as kube-scheduler checks
// a PersistentVolume's node affinity (against the node's labels alone).
func (s nodeSelector) matchesLabels(node *corev1.Node) bool {
	for i := range s {
		if s[i].matches(node, false) {
			return true
		}
	}
	return false
}

func (t *nodeSelectorTerm) matches(node *corev1.Node, fields bool) bool {
	if t.invalid {
		return false
	}
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	if !fields {
		return true
	}
	for _, f := range t.fields {
		v := ""
		if f.key == nodeNameField {
			v = node.Name
		}
		if (v == f.value) != f.in {
			return false
		}
	}
	return true
}

// requiredAffinity is a pod's nodeSelector and required node affinity,
// parsed: a node must match both.
type requiredAffinity struct {
	nodeSelector map[string]string
	// terms is nil when the pod has no required node affinity.
	terms nodeSelector
}

func newRequiredAffinity(pod *corev1.Pod) *requiredAffinity {
	ra := &requiredAffinity{nodeSelector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ra.terms = newNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms)
	}
	return ra
}

// empty says the pod constrains nodes in neither way.
func (ra *requiredAffinity) empty() bool { return len(ra.nodeSelector) == 0 && ra.terms == nil }

// matches says the node satisfies the nodeSelector and the required node
// affinity.
func (ra *requiredAffinity) matches(node *corev1.Node) bool {
	for k, v := range ra.nodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	return ra.terms == nil || ra.terms.matches(node)
}
