package replicaset

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestDeletionOrder(t *testing.T) {
	ready := readySince(t0.Add(-time.Hour))
	uid := func(u string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.UID = types.UID(u) } }
	tests := []struct {
		name string
		// first should be deleted before second.
		first, second []func(*corev1.Pod)
		// related pods, on top of the two, for colocation ranks.
		related []*corev1.Pod
	}{
		{name: "unassigned before assigned", first: []func(*corev1.Pod){onNode(""), ready}, second: []func(*corev1.Pod){inPhase(corev1.PodPending)}},
		{name: "pending before running", first: []func(*corev1.Pod){inPhase(corev1.PodPending), ready}, second: []func(*corev1.Pod){}},
		{name: "pending before unknown", first: []func(*corev1.Pod){inPhase(corev1.PodPending)}, second: []func(*corev1.Pod){inPhase(corev1.PodUnknown)}},
		{name: "unknown before running", first: []func(*corev1.Pod){inPhase(corev1.PodUnknown), ready}, second: []func(*corev1.Pod){}},
		{name: "not ready before ready", first: []func(*corev1.Pod){restarts(0)}, second: []func(*corev1.Pod){ready, restarts(5)}},
		{name: "lower deletion cost first", first: []func(*corev1.Pod){ready, deletionCostOf("-5")}, second: []func(*corev1.Pod){ready, onNode("node-2"), deletionCostOf("10")},
			related: []*corev1.Pod{newPod("x", "web", nil, onNode("node-2"))}},
		{name: "more colocated pods first", first: []func(*corev1.Pod){ready, onNode("crowded")}, second: []func(*corev1.Pod){ready, onNode("alone"), restarts(9)},
			related: []*corev1.Pod{newPod("x", "web", nil, onNode("crowded")), newPod("y", "web", nil, onNode("crowded"))}},
		{name: "inactive related pods do not crowd", first: []func(*corev1.Pod){ready, onNode("alone"), restarts(1)}, second: []func(*corev1.Pod){ready, onNode("crowded")},
			related: []*corev1.Pod{newPod("x", "web", nil, onNode("crowded"), inPhase(corev1.PodSucceeded))}},
		{name: "ready for less time first", first: []func(*corev1.Pod){readySince(t0.Add(-time.Minute))}, second: []func(*corev1.Pod){readySince(t0.Add(-time.Hour)), restarts(3)}},
		{name: "zero ready time first", first: []func(*corev1.Pod){readySince(time.Time{})}, second: []func(*corev1.Pod){readySince(t0.Add(-time.Second)), restarts(3)}},
		// 100 s and 110 s are both in [2^36, 2^37) ns: equal on the log
		// scale, so the UID decides and restarts are not looked at.
		{name: "same log bucket of ready time by uid", first: []func(*corev1.Pod){readySince(t0.Add(-110 * time.Second)), uid("a")},
			second: []func(*corev1.Pod){readySince(t0.Add(-100 * time.Second)), uid("b"), restarts(3)}},
		{name: "more restarts first", first: []func(*corev1.Pod){ready, restarts(4)}, second: []func(*corev1.Pod){ready, restarts(1), createdAt(t0.Add(-time.Second))}},
		{name: "newer first", first: []func(*corev1.Pod){ready, createdAt(t0.Add(-time.Minute))}, second: []func(*corev1.Pod){ready, createdAt(t0.Add(-time.Hour))}},
		{name: "zero creation time first", first: []func(*corev1.Pod){createdAt(time.Time{})}, second: []func(*corev1.Pod){createdAt(t0.Add(-time.Second))}},
		{name: "same log bucket of creation by uid", first: []func(*corev1.Pod){createdAt(t0.Add(-100 * time.Second)), uid("a")},
			second: []func(*corev1.Pod){createdAt(t0.Add(-110 * time.Second)), uid("b")}},
		{name: "same log bucket of creation by uid, reversed", first: []func(*corev1.Pod){createdAt(t0.Add(-110 * time.Second)), uid("a")},
			second: []func(*corev1.Pod){createdAt(t0.Add(-100 * time.Second)), uid("b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newPod("a", "web", nil, tt.first...)
			b := newPod("b", "web", nil, tt.second...)
			related := append([]*corev1.Pod{a, b}, tt.related...)
			o := rankByColocation([]*corev1.Pod{a, b}, related, t0)
			if !o.Less(0, 1) {
				t.Errorf("first does not sort before second")
			}
			if o.Less(1, 0) {
				t.Errorf("second sorts before first")
			}
		})
	}
}

func TestDeletionOrderEqual(t *testing.T) {
	a := newPod("a", "web", nil)
	b := newPod("b", "web", nil)
	o := rankByColocation([]*corev1.Pod{a, b}, nil, t0)
	if o.Less(0, 1) || o.Less(1, 0) {
		t.Error("identical pods are ordered")
	}
}

func TestPodsToDelete(t *testing.T) {
	pods := []*corev1.Pod{
		newPod("old-ready", "web", nil, readySince(t0.Add(-48*time.Hour)), createdAt(t0.Add(-49*time.Hour)), onNode("node-2")),
		newPod("unassigned", "web", nil, onNode(""), inPhase(corev1.PodPending)),
		newPod("young-ready", "web", nil, readySince(t0.Add(-time.Minute))),
		newPod("pending", "web", nil, inPhase(corev1.PodPending)),
		newPod("not-ready", "web", nil),
	}
	want := []string{"unassigned", "pending", "not-ready", "young-ready"}
	for n := range len(pods) {
		got := podNames(podsToDelete(slices.Clone(pods), pods, n, t0))
		if !slices.Equal(got, want[:n]) {
			t.Errorf("podsToDelete(%d) = %v, want %v", n, got, want[:n])
		}
	}
	if got := podsToDelete(pods, pods, 9, t0); len(got) != len(pods) {
		t.Errorf("podsToDelete(9) returned %d pods, want all %d", len(got), len(pods))
	}
}

func TestDeletionCost(t *testing.T) {
	tests := map[string]int32{"": 0, "7": 7, "-3": -3, "0": 0, "+4": 0, "007": 0, "-05": 0, "x": 0, "99999999999": 0}
	for v, want := range tests {
		p := newPod("p", "web", nil, deletionCostOf(v))
		if got := deletionCost(p); got != want {
			t.Errorf("deletionCost(%q) = %d, want %d", v, got, want)
		}
	}
	if got := deletionCost(newPod("p", "web", nil)); got != 0 {
		t.Errorf("no annotation: cost %d, want 0", got)
	}
}
