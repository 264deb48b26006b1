package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func nodeWith(ready corev1.ConditionStatus, unschedulable bool, extra ...corev1.NodeCondition) *corev1.Node {
	n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: unschedulable}}
	if ready != "" {
		n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeReady, Status: ready})
	}
	n.Status.Conditions = append(n.Status.Conditions, extra...)
	return n
}

func TestDesiredTaints(t *testing.T) {
	cases := []struct {
		name string
		node *corev1.Node
		want []string
	}{
		{"ready", nodeWith(corev1.ConditionTrue, false), nil},
		{"new node", nodeWith("", false), []string{"node.kubernetes.io/not-ready:NoSchedule"}},
		{"not ready", nodeWith(corev1.ConditionFalse, false), []string{"node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"}},
		{"unknown", nodeWith(corev1.ConditionUnknown, false), []string{"node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"}},
		{"cordoned", nodeWith(corev1.ConditionTrue, true), []string{"node.kubernetes.io/unschedulable:NoSchedule"}},
		{"disk pressure", nodeWith(corev1.ConditionTrue, false, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue}),
			[]string{"node.kubernetes.io/disk-pressure:NoSchedule"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, taint := range desiredTaints(tc.node) {
				got = append(got, taint.Key+":"+string(taint.Effect))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("taints %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("taints %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestEvictionDelay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	added := metav1.NewTime(now.Add(-100 * time.Second))
	unreachable := []corev1.Taint{{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}}
	secs := func(s int64) *int64 { return &s }
	tol := func(seconds *int64) corev1.Toleration {
		return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
	}
	cases := []struct {
		name      string
		tols      []corev1.Toleration
		taints    []corev1.Taint
		wantEvict bool
		wantWait  time.Duration
	}{
		{"no NoExecute taint", nil, []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}, false, 0},
		{"not tolerated: now", nil, unreachable, true, 0},
		{"tolerated forever", []corev1.Toleration{tol(nil)}, unreachable, false, 0},
		{"300 s from when the taint was added", []corev1.Toleration{tol(secs(300))}, unreachable, true, 200 * time.Second},
		{"the shortest toleration counts", []corev1.Toleration{tol(secs(300)), tol(secs(150))}, unreachable, true, 50 * time.Second},
		{"time is up", []corev1.Toleration{tol(secs(60))}, unreachable, true, 0},
		{"negative seconds mean now", []corev1.Toleration{tol(secs(-5))}, unreachable, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.tols}}
			wait, evict := evictionDelay(pod, tc.taints, now)
			if evict != tc.wantEvict || wait != tc.wantWait {
				t.Fatalf("evictionDelay = %v, %v; want %v, %v", wait, evict, tc.wantWait, tc.wantEvict)
			}
		})
	}
}
