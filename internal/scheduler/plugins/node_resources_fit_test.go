package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestNodeResourcesFitFilter(t *testing.T) {
	cases := []struct {
		name     string
		node     *corev1.Node
		existing []*corev1.Pod
		pod      *corev1.Pod
		want     filterResult
	}{
		{"fits", makeNode("n"), nil, makePod("p", requests("cpu", "1", "memory", "1Gi")), pass},
		{"no requests fit anywhere", makeNode("n", allocatable("cpu", "0")), nil, makePod("p"), pass},
		{"cpu", makeNode("n"), []*corev1.Pod{makePod("a", on("n"), requests("cpu", "3500m"))},
			makePod("p", requests("cpu", "600m")), fail(framework.Unschedulable, "Insufficient cpu")},
		{"cpu exactly fits", makeNode("n"), []*corev1.Pod{makePod("a", on("n"), requests("cpu", "3500m"))},
			makePod("p", requests("cpu", "500m")), pass},
		{"memory", makeNode("n"), nil, makePod("p", requests("memory", "9Gi")), fail(framework.Unschedulable, "Insufficient memory")},
		{"ephemeral-storage", makeNode("n", allocatable("ephemeral-storage", "10Gi")), nil,
			makePod("p", requests("ephemeral-storage", "11Gi")), fail(framework.Unschedulable, "Insufficient ephemeral-storage")},
		{"extended resource the node lacks", makeNode("n"), nil,
			makePod("p", requests("example.com/gpu", "1")), fail(framework.Unschedulable, "Insufficient example.com/gpu")},
		{"extended resource", makeNode("n", allocatable("example.com/gpu", "2")), nil,
			makePod("p", requests("example.com/gpu", "2")), pass},
		{"too many pods", makeNode("n", allocatable("pods", "1")), []*corev1.Pod{makePod("a", on("n"))},
			makePod("p"), fail(framework.Unschedulable, "Too many pods")},
		{"several reasons in order", makeNode("n", allocatable("pods", "1")), []*corev1.Pod{makePod("a", on("n"))},
			makePod("p", requests("cpu", "5", "memory", "9Gi", "example.com/b", "1", "example.com/a", "1")),
			fail(framework.Unschedulable, "Too many pods", "Insufficient cpu", "Insufficient memory",
				"Insufficient example.com/a", "Insufficient example.com/b")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runFilter(t, &nodeResourcesFit{}, c.pod, cluster(nodes(c.node), c.existing...))
			checkFilter(t, got, map[string]filterResult{"n": c.want})
		})
	}
}

func TestNodeResourcesFitScore(t *testing.T) {
	// Both nodes: 4 cpu, 8Gi. "busy" has 2 cpu and 2Gi requested.
	busy := makePod("busy", on("b"), requests("cpu", "2", "memory", "2Gi"))
	cases := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		// a: cpu (4-1)/4=75, mem (8-2)/8=75 → 75. b: cpu (4-3)/4=25, mem (8-4)/8=50 → 37.
		{"least allocated", makePod("p", requests("cpu", "1", "memory", "2Gi")), map[string]int64{"a": 75, "b": 37}},
		// No requests count as 100m and 200Mi: a: cpu 97, mem 97 → 97; b: 47, 72 → 59.
		{"defaults for no requests", makePod("p"), map[string]int64{"a": 97, "b": 59}},
		{"over capacity scores 0 for it", makePod("p", requests("cpu", "8", "memory", "2Gi")), map[string]int64{"a": 37, "b": 25}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, &nodeResourcesFit{}, c.pod, cluster(nodes(makeNode("a"), makeNode("b")), busy)), c.want)
		})
	}
}

func TestBalancedAllocationScore(t *testing.T) {
	busy := makePod("busy", on("b"), requests("cpu", "2", "memory", "2Gi"))
	cases := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		// a: cpu 1/4, mem 2/8 → equal → 100. b: 3/4 vs 4/8 → std 0.125 → 87.
		{"balanced", makePod("p", requests("cpu", "1", "memory", "2Gi")), map[string]int64{"a": 100, "b": 87}},
		// No defaults: a: 0 vs 0 → 100; b: 2/4 vs 2/8 → std 0.125 → 87.
		{"no requests", makePod("p"), map[string]int64{"a": 100, "b": 87}},
		// Shares are capped at 1: a: cpu 1, mem 0 → std 0.5 → 50.
		{"capped share", makePod("p", requests("cpu", "8")), map[string]int64{"a": 50, "b": 62}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, &balancedAllocation{}, c.pod, cluster(nodes(makeNode("a"), makeNode("b")), busy)), c.want)
		})
	}
}
