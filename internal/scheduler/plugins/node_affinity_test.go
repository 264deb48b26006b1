package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

// requiredTerms sets the pod's required node affinity terms.
func requiredTerms(terms ...corev1.NodeSelectorTerm) podOpt {
	return func(p *corev1.Pod) {
		a := affinity(p)
		a.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
}

func labelsTerm(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: exprs}
}

func fieldsTerm(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchFields: exprs}
}

func withNodeSelector(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func TestNodeAffinityFilter(t *testing.T) {
	no := fail(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
	cs := nodes(
		makeNode("a", nodeLabels("zone", "z1", "cores", "8", "disk", "ssd")),
		makeNode("b", nodeLabels("zone", "z2", "cores", "2")),
	)
	cases := []struct {
		name string
		pod  *corev1.Pod
		want map[string]filterResult
	}{
		{"no constraints", makePod("p"), map[string]filterResult{"a": pass, "b": pass}},
		{"nodeSelector", makePod("p", withNodeSelector("zone", "z2")), map[string]filterResult{"a": no, "b": pass}},
		{"nodeSelector on a missing label", makePod("p", withNodeSelector("gpu", "")), map[string]filterResult{"a": no, "b": no}},
		{"In", makePod("p", requiredTerms(labelsTerm(expr("zone", corev1.NodeSelectorOpIn, "z1", "z3")))),
			map[string]filterResult{"a": pass, "b": no}},
		{"NotIn", makePod("p", requiredTerms(labelsTerm(expr("zone", corev1.NodeSelectorOpNotIn, "z1")))),
			map[string]filterResult{"a": no, "b": pass}},
		{"Exists", makePod("p", requiredTerms(labelsTerm(expr("disk", corev1.NodeSelectorOpExists)))),
			map[string]filterResult{"a": pass, "b": no}},
		{"DoesNotExist", makePod("p", requiredTerms(labelsTerm(expr("disk", corev1.NodeSelectorOpDoesNotExist)))),
			map[string]filterResult{"a": no, "b": pass}},
		{"Gt", makePod("p", requiredTerms(labelsTerm(expr("cores", corev1.NodeSelectorOpGt, "4")))),
			map[string]filterResult{"a": pass, "b": no}},
		{"Lt", makePod("p", requiredTerms(labelsTerm(expr("cores", corev1.NodeSelectorOpLt, "4")))),
			map[string]filterResult{"a": no, "b": pass}},
		{"Gt with a non-integer value matches nothing", makePod("p", requiredTerms(labelsTerm(expr("cores", corev1.NodeSelectorOpGt, "four")))),
			map[string]filterResult{"a": no, "b": no}},
		{"expressions of a term are ANDed", makePod("p", requiredTerms(labelsTerm(
			expr("zone", corev1.NodeSelectorOpIn, "z1", "z2"), expr("cores", corev1.NodeSelectorOpLt, "4")))),
			map[string]filterResult{"a": no, "b": pass}},
		{"terms are ORed", makePod("p", requiredTerms(
			labelsTerm(expr("zone", corev1.NodeSelectorOpIn, "z9")), labelsTerm(expr("disk", corev1.NodeSelectorOpExists)))),
			map[string]filterResult{"a": pass, "b": no}},
		{"empty term matches nothing", makePod("p", requiredTerms(corev1.NodeSelectorTerm{})),
			map[string]filterResult{"a": no, "b": no}},
		{"matchFields metadata.name In", makePod("p", requiredTerms(fieldsTerm(expr("metadata.name", corev1.NodeSelectorOpIn, "b")))),
			map[string]filterResult{"a": no, "b": pass}},
		{"matchFields metadata.name NotIn", makePod("p", requiredTerms(fieldsTerm(expr("metadata.name", corev1.NodeSelectorOpNotIn, "b")))),
			map[string]filterResult{"a": pass, "b": no}},
		{"nodeSelector and affinity both apply", makePod("p", withNodeSelector("zone", "z1"),
			requiredTerms(labelsTerm(expr("cores", corev1.NodeSelectorOpLt, "4")))),
			map[string]filterResult{"a": no, "b": no}},
		{"named nodes conflict", makePod("p", requiredTerms(fieldsTerm(
			expr("metadata.name", corev1.NodeSelectorOpIn, "a"), expr("metadata.name", corev1.NodeSelectorOpIn, "b")))),
			map[string]filterResult{
				"a": fail(framework.UnschedulableAndUnresolvable, "pod affinity terms conflict"),
				"b": fail(framework.UnschedulableAndUnresolvable, "pod affinity terms conflict"),
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkFilter(t, runFilter(t, &nodeAffinity{}, c.pod, cluster(cs)), c.want)
		})
	}
}

func preferredTerms(terms ...corev1.PreferredSchedulingTerm) podOpt {
	return func(p *corev1.Pod) {
		affinity(p).NodeAffinity = &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}
	}
}

func TestNodeAffinityScore(t *testing.T) {
	cs := nodes(
		makeNode("a", nodeLabels("zone", "z1", "disk", "ssd")),
		makeNode("b", nodeLabels("zone", "z1")),
		makeNode("c", nodeLabels("zone", "z2")),
	)
	zone1 := labelsTerm(expr("zone", corev1.NodeSelectorOpIn, "z1"))
	ssd := labelsTerm(expr("disk", corev1.NodeSelectorOpIn, "ssd"))
	cases := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		{"no preferences: skip", makePod("p"), nil},
		{"one term", makePod("p", preferredTerms(corev1.PreferredSchedulingTerm{Weight: 5, Preference: zone1})),
			map[string]int64{"a": 100, "b": 100, "c": 0}},
		{"weights add up", makePod("p", preferredTerms(
			corev1.PreferredSchedulingTerm{Weight: 1, Preference: zone1}, corev1.PreferredSchedulingTerm{Weight: 3, Preference: ssd})),
			map[string]int64{"a": 100, "b": 25, "c": 0}},
		{"zero weight ignored", makePod("p", preferredTerms(corev1.PreferredSchedulingTerm{Weight: 0, Preference: zone1})), nil},
		{"matchFields", makePod("p", preferredTerms(corev1.PreferredSchedulingTerm{Weight: 2,
			Preference: fieldsTerm(expr("metadata.name", corev1.NodeSelectorOpIn, "c"))})),
			map[string]int64{"a": 0, "b": 0, "c": 100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, &nodeAffinity{}, c.pod, cluster(cs)), c.want)
		})
	}
}
