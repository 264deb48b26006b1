package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestNodeUnschedulableFilter(t *testing.T) {
	cordoned := fail(framework.UnschedulableAndUnresolvable, "node(s) were unschedulable")
	cases := []struct {
		name string
		node *corev1.Node
		pod  *corev1.Pod
		want filterResult
	}{
		{"schedulable node", makeNode("n"), makePod("p"), pass},
		{"cordoned node", makeNode("n", unschedulable), makePod("p"), cordoned},
		{"tolerates the unschedulable taint", makeNode("n", unschedulable),
			makePod("p", toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)), pass},
		{"tolerates everything", makeNode("n", unschedulable),
			makePod("p", toleration("", corev1.TolerationOpExists, "", "")), pass},
		{"tolerates another effect only", makeNode("n", unschedulable),
			makePod("p", toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoExecute)), cordoned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runFilter(t, &nodeUnschedulable{}, c.pod, cluster(nodes(c.node)))
			checkFilter(t, got, map[string]filterResult{"n": c.want})
		})
	}
}
