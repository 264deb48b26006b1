package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestTaintTolerationFilter(t *testing.T) {
	const (
		noSched = corev1.TaintEffectNoSchedule
		noExec  = corev1.TaintEffectNoExecute
		prefer  = corev1.TaintEffectPreferNoSchedule
		exists  = corev1.TolerationOpExists
		equal   = corev1.TolerationOpEqual
	)
	untolerated := func(kv string) filterResult {
		return fail(framework.UnschedulableAndUnresolvable, "node(s) had untolerated taint {"+kv+"}")
	}
	cases := []struct {
		name string
		node *corev1.Node
		pod  *corev1.Pod
		want filterResult
	}{
		{"no taints", makeNode("n"), makePod("p"), pass},
		{"NoSchedule untolerated", makeNode("n", taint("dedicated", "gpu", noSched)), makePod("p"), untolerated("dedicated: gpu")},
		{"NoExecute untolerated", makeNode("n", taint("k", "", noExec)), makePod("p"), untolerated("k: ")},
		{"PreferNoSchedule does not filter", makeNode("n", taint("k", "v", prefer)), makePod("p"), pass},
		{"Equal toleration", makeNode("n", taint("dedicated", "gpu", noSched)),
			makePod("p", toleration("dedicated", equal, "gpu", noSched)), pass},
		{"empty operator means Equal", makeNode("n", taint("dedicated", "gpu", noSched)),
			makePod("p", toleration("dedicated", "", "gpu", "")), pass},
		{"Equal with another value", makeNode("n", taint("dedicated", "gpu", noSched)),
			makePod("p", toleration("dedicated", equal, "cpu", noSched)), untolerated("dedicated: gpu")},
		{"Exists any value", makeNode("n", taint("dedicated", "gpu", noSched)),
			makePod("p", toleration("dedicated", exists, "", "")), pass},
		{"empty key Exists tolerates all", makeNode("n", taint("a", "1", noSched), taint("b", "2", noExec)),
			makePod("p", toleration("", exists, "", "")), pass},
		{"wrong effect", makeNode("n", taint("k", "v", noExec)),
			makePod("p", toleration("k", equal, "v", noSched)), untolerated("k: v")},
		{"first untolerated taint named", makeNode("n", taint("a", "1", noSched), taint("b", "2", noSched)),
			makePod("p", toleration("a", exists, "", "")), untolerated("b: 2")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runFilter(t, &taintToleration{}, c.pod, cluster(nodes(c.node)))
			checkFilter(t, got, map[string]filterResult{"n": c.want})
		})
	}
}

func TestTaintTolerationScore(t *testing.T) {
	prefer := corev1.TaintEffectPreferNoSchedule
	cs := nodes(
		makeNode("clean"),
		makeNode("one", taint("a", "1", prefer)),
		makeNode("two", taint("a", "1", prefer), taint("b", "2", prefer)),
		makeNode("hard", taint("a", "1", corev1.TaintEffectNoSchedule)),
	)
	cases := []struct {
		name string
		pod  *corev1.Pod
		want map[string]int64
	}{
		{"fewest untolerated taints best", makePod("p"),
			map[string]int64{"clean": 100, "one": 50, "two": 0, "hard": 100}},
		{"tolerated taints do not count", makePod("p", toleration("a", corev1.TolerationOpExists, "", prefer)),
			map[string]int64{"clean": 100, "one": 100, "two": 0, "hard": 100}},
		{"NoSchedule tolerations do not count", makePod("p", toleration("a", corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)),
			map[string]int64{"clean": 100, "one": 50, "two": 0}},
		{"all tolerated: all best", makePod("p", toleration("", corev1.TolerationOpExists, "", "")),
			map[string]int64{"clean": 100, "one": 100, "two": 100, "hard": 100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, &taintToleration{}, c.pod, cluster(cs)), c.want)
		})
	}
}
