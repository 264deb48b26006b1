package simulate

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	always := corev1.ContainerRestartPolicyAlways
	cases := []struct {
		name      string
		change    func(*corev1.Pod)
		now       time.Time
		phase     corev1.PodPhase
		ready     corev1.ConditionStatus
		again     time.Duration
		sidecarOn bool
	}{
		{name: "running", phase: corev1.PodRunning, ready: corev1.ConditionTrue},
		{name: "exit-after ignored when restarting", phase: corev1.PodRunning, ready: corev1.ConditionTrue,
			change: func(p *corev1.Pod) { p.Annotations = map[string]string{ExitAfterAnnotation: "1s"} }},
		{name: "exit-after not yet", phase: corev1.PodRunning, ready: corev1.ConditionTrue, again: 5 * time.Second,
			change: func(p *corev1.Pod) {
				p.Spec.RestartPolicy, p.Annotations = corev1.RestartPolicyOnFailure, map[string]string{ExitAfterAnnotation: "5s"}
			}},
		{name: "exit-after passed", phase: corev1.PodSucceeded, ready: corev1.ConditionFalse, now: t0.Add(6 * time.Second),
			change: func(p *corev1.Pod) {
				p.Spec.RestartPolicy, p.Annotations = corev1.RestartPolicyNever, map[string]string{ExitAfterAnnotation: "5s"}
				p.Status.StartTime = &metav1.Time{Time: t0}
			}},
		{name: "readiness gate unset", phase: corev1.PodRunning, ready: corev1.ConditionFalse,
			change: func(p *corev1.Pod) {
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
			}},
		{name: "sidecar runs", phase: corev1.PodRunning, ready: corev1.ConditionTrue, sidecarOn: true,
			change: func(p *corev1.Pod) { p.Spec.InitContainers[0].RestartPolicy = &always }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("p", "sim-0")
			if tc.change != nil {
				tc.change(pod)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			s, again := podStatus(pod, "10.244.0.1", "10.42.0.2", now)
			if s.Phase != tc.phase || again != tc.again {
				t.Fatalf("phase %s again %v, want %s %v", s.Phase, again, tc.phase, tc.again)
			}
			if c := condition(hasPodCondition(&corev1.Pod{Status: s}, corev1.PodReady)); c != tc.ready {
				t.Errorf("Ready %s, want %s: %+v", c, tc.ready, s.Conditions)
			}
			if init := s.InitContainerStatuses[0]; (init.State.Running != nil) != tc.sidecarOn {
				t.Errorf("init container state %+v", init.State)
			}
			// The status computed again from a pod that has it is the same:
			// the agent writes once.
			written := pod.DeepCopy()
			written.Status = s
			s2, _ := podStatus(written, "10.244.0.1", "10.42.0.2", now.Add(time.Second))
			if !equality.Semantic.DeepEqual(s, s2) {
				t.Errorf("status changed on recompute:\n%+v\n%+v", s, s2)
			}
		})
	}
}

func TestPodStatusKeepsScheduledCondition(t *testing.T) {
	pod := testPod("p", "sim-0")
	s, _ := podStatus(pod, "10.244.0.1", "10.42.0.2", time.Now())
	if s.Conditions[0].Type != corev1.PodScheduled || s.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("conditions %+v", s.Conditions)
	}
	if len(s.Conditions) != 5 {
		t.Errorf("%d conditions, want 5: %+v", len(s.Conditions), s.Conditions)
	}
}
