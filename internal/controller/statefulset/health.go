package statefulset

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isRunningAndReady says the pod is running and its Ready condition true.
func isRunningAndReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return p.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue
}

// isHealthy says the pod is running, ready and not being deleted.
func isHealthy(p *corev1.Pod) bool {
	return isRunningAndReady(p) && p.DeletionTimestamp == nil
}

// availableAt says whether the running and ready pod is available at now
// (ready for minReadySeconds); wait is how long until a ready pod becomes
// available.
func availableAt(p *corev1.Pod, minReadySeconds int32, now time.Time) (available bool, wait time.Duration) {
	if !isRunningAndReady(p) {
		return false, 0
	}
	if minReadySeconds == 0 {
		return true, 0
	}
	since := readyCondition(p).LastTransitionTime
	at := since.Add(time.Duration(minReadySeconds) * time.Second)
	if !since.IsZero() && !at.After(now) {
		return true, 0
	}
	return false, max(at.Sub(now), time.Millisecond)
}

func isAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	ok, _ := availableAt(p, minReadySeconds, now)
	return ok
}

// isTerminal says the pod's containers stopped for good; the pod is
// deleted and made anew.
func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}
