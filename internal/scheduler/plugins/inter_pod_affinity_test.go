package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const zoneKey = corev1.LabelTopologyZone

// affinityNodes: a and b in zone z1, c in z2, d without a zone.
func affinityNodes() []*corev1.Node {
	return nodes(
		makeNode("a", nodeLabels(zoneKey, "z1")),
		makeNode("b", nodeLabels(zoneKey, "z1")),
		makeNode("c", nodeLabels(zoneKey, "z2")),
		makeNode("d"),
	)
}

// preferred adds a preferred (anti-)affinity term.
func preferred(anti bool, weight int32, key string, kv ...string) podOpt {
	return func(p *corev1.Pod) {
		a := affinity(p)
		t := corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: selectorOf(kv...)}}
		if anti {
			if a.PodAntiAffinity == nil {
				a.PodAntiAffinity = &corev1.PodAntiAffinity{}
			}
			a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, t)
			return
		}
		if a.PodAffinity == nil {
			a.PodAffinity = &corev1.PodAffinity{}
		}
		a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, t)
	}
}

// namespaceSelector sets the namespaceSelector of every required
// affinity term.
func namespaceSelector(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		terms := p.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		for i := range terms {
			terms[i].NamespaceSelector = selectorOf(kv...)
		}
	}
}

func TestInterPodAffinityFilter(t *testing.T) {
	noAffinity := fail(framework.UnschedulableAndUnresolvable, "node(s) didn't match pod affinity rules")
	noAnti := fail(framework.Unschedulable, "node(s) didn't match pod anti-affinity rules")
	existingAnti := fail(framework.Unschedulable, "node(s) didn't satisfy existing pods anti-affinity rules")
	db := makePod("db", on("a"), podLabels("app", "db"))
	cases := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]filterResult
	}{
		{"no affinity anywhere", []*corev1.Pod{db}, makePod("p"),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": pass}},
		{"affinity by hostname", []*corev1.Pod{db}, makePod("p", podAffinity(corev1.LabelHostname, "app", "db")),
			map[string]filterResult{"a": pass, "b": noAffinity, "c": noAffinity, "d": noAffinity}},
		{"affinity by zone; a node without the key fails", []*corev1.Pod{db}, makePod("p", podAffinity(zoneKey, "app", "db")),
			map[string]filterResult{"a": pass, "b": pass, "c": noAffinity, "d": noAffinity}},
		{"first of a group matching itself", []*corev1.Pod{db}, makePod("p", podLabels("app", "web"), podAffinity(zoneKey, "app", "web")),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": noAffinity}},
		{"no match and not matching itself", []*corev1.Pod{db}, makePod("p", podAffinity(zoneKey, "app", "web")),
			map[string]filterResult{"a": noAffinity, "b": noAffinity, "c": noAffinity, "d": noAffinity}},
		{"matching itself, but a match exists elsewhere", []*corev1.Pod{makePod("w", on("c"), podLabels("app", "web"))},
			makePod("p", podLabels("app", "web"), podAffinity(zoneKey, "app", "web")),
			map[string]filterResult{"a": noAffinity, "b": noAffinity, "c": pass, "d": noAffinity}},
		{"other namespaces do not match", []*corev1.Pod{makePod("db", on("a"), podLabels("app", "db"), namespace("other"))},
			makePod("p", podAffinity(corev1.LabelHostname, "app", "db")),
			map[string]filterResult{"a": noAffinity, "b": noAffinity}},
		{"namespaceSelector", []*corev1.Pod{makePod("db", on("a"), podLabels("app", "db"), namespace("other"))},
			makePod("p", podAffinity(corev1.LabelHostname, "app", "db"), namespaceSelector("team", "data")),
			map[string]filterResult{"a": pass, "b": noAffinity}},
		{"anti-affinity by hostname", []*corev1.Pod{db}, makePod("p", podAntiAffinity(corev1.LabelHostname, "app", "db")),
			map[string]filterResult{"a": noAnti, "b": pass, "c": pass, "d": pass}},
		{"anti-affinity by zone", []*corev1.Pod{db}, makePod("p", podAntiAffinity(zoneKey, "app", "db")),
			map[string]filterResult{"a": noAnti, "b": noAnti, "c": pass, "d": pass}},
		{"existing pod's anti-affinity", []*corev1.Pod{makePod("x", on("c"), podAntiAffinity(zoneKey, "app", "web"))},
			makePod("p", podLabels("app", "web")),
			map[string]filterResult{"a": pass, "b": pass, "c": existingAnti, "d": pass}},
		{"existing pod's anti-affinity selects others", []*corev1.Pod{makePod("x", on("c"), podAntiAffinity(zoneKey, "app", "web"))},
			makePod("p", podLabels("app", "db")),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": pass}},
		{"affinity checked before anti-affinity", []*corev1.Pod{db},
			makePod("p", podAffinity(corev1.LabelHostname, "app", "db"), podAntiAffinity(zoneKey, "app", "db")),
			map[string]filterResult{"a": noAnti, "b": noAffinity, "c": noAffinity}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := cluster(affinityNodes(), c.existing...)
			snap.NamespaceLabels = map[string]labels.Set{"default": {}, "other": {"team": "data"}}
			checkFilter(t, runFilter(t, newInterPodAffinity(), c.pod, snap), c.want)
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	db := makePod("db", on("a"), podLabels("app", "db"))
	cases := []struct {
		name     string
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     map[string]int64
	}{
		{"nothing scores: skip", []*corev1.Pod{db}, makePod("p"), nil},
		{"preferred affinity by zone", []*corev1.Pod{db}, makePod("p", preferred(false, 10, zoneKey, "app", "db")),
			map[string]int64{"a": 100, "b": 100, "c": 0, "d": 0}},
		{"preferred anti-affinity by hostname", []*corev1.Pod{db}, makePod("p", preferred(true, 5, corev1.LabelHostname, "app", "db")),
			map[string]int64{"a": 0, "b": 100, "c": 100, "d": 100}},
		{"weights per matching pod", []*corev1.Pod{db, makePod("db2", on("c"), podLabels("app", "db")), makePod("db3", on("c"), podLabels("app", "db"))},
			makePod("p", preferred(false, 10, corev1.LabelHostname, "app", "db")),
			map[string]int64{"a": 50, "b": 0, "c": 100, "d": 0}},
		{"affinity and anti-affinity together", []*corev1.Pod{db, makePod("web", on("c"), podLabels("app", "web"))},
			makePod("p", preferred(false, 4, zoneKey, "app", "db"), preferred(true, 2, zoneKey, "app", "web")),
			// z1: +4, z2: −2; d: 0. Min −2, max 4.
			map[string]int64{"a": 100, "b": 100, "c": 0, "d": 33}},
		{"existing pod's preferred affinity", []*corev1.Pod{makePod("x", on("a"), preferred(false, 20, corev1.LabelHostname, "app", "web"))},
			makePod("p", podLabels("app", "web")),
			map[string]int64{"a": 100, "b": 0, "c": 0, "d": 0}},
		{"existing pod's preferred anti-affinity", []*corev1.Pod{makePod("x", on("c"), preferred(true, 20, zoneKey, "app", "web"))},
			makePod("p", podLabels("app", "web")),
			map[string]int64{"a": 100, "b": 100, "c": 0, "d": 100}},
		{"existing pod's required affinity weighs 1", []*corev1.Pod{makePod("x", on("c"), podAffinity(zoneKey, "app", "web"))},
			makePod("p", podLabels("app", "web")),
			map[string]int64{"a": 0, "b": 0, "c": 100, "d": 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, newInterPodAffinity(), c.pod, cluster(affinityNodes(), c.existing...)), c.want)
		})
	}
}

// TestInterPodAffinityAddRemovePod checks the counts preemption updates:
// removing the only matching pod lifts the anti-affinity, on a clone of
// the state only.
func TestInterPodAffinityAddRemovePod(t *testing.T) {
	ctx := t.Context()
	db := makePod("db", on("a"), podLabels("app", "db"))
	snap := cluster(affinityNodes(), db)
	pod := makePod("p", podAntiAffinity(zoneKey, "app", "db"))
	pl := newInterPodAffinity()
	state := framework.NewCycleState()
	if st := pl.PreFilter(ctx, state, pod, snap); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st.Message())
	}
	a := snap.Get("a")
	clone := state.Clone()
	pl.RemovePod(ctx, clone, pod, framework.NewPodInfo(db), a)
	if st := pl.Filter(ctx, clone, pod, snap.Get("b")); !st.IsSuccess() {
		t.Errorf("after removing db, b: %v", st.Message())
	}
	if st := pl.Filter(ctx, state, pod, snap.Get("b")); st.IsSuccess() {
		t.Error("the original state changed with the clone")
	}
	pl.AddPod(ctx, clone, pod, framework.NewPodInfo(makePod("db2", podLabels("app", "db"))), snap.Get("c"))
	if st := pl.Filter(ctx, clone, pod, snap.Get("c")); st.IsSuccess() {
		t.Error("after adding a db pod to c, c still fits")
	}
}
