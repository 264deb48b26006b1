package simulate

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExitAfterAnnotation on a pod whose restartPolicy is Never or OnFailure
// makes its containers exit 0 that long (a Go duration, "5s") after the
// pod started: the pod Succeeds, as a Job's would.
const ExitAfterAnnotation = "skiff.dev/simulate-exit-after"

// podStatus is the status the real agent would report for pod once its
// containers run, or, past its exit-after time, once they exited. again
// is when to look once more (0: never). The result depends only on the
// pod and the clock's passing of the exit time, so a pod whose status was
// written compares equal next time.
func podStatus(pod *corev1.Pod, hostIP, podIP string, now time.Time) (s corev1.PodStatus, again time.Duration) {
	s = *pod.Status.DeepCopy()
	s.HostIP, s.HostIPs = hostIP, []corev1.HostIP{{IP: hostIP}}
	s.PodIP, s.PodIPs = podIP, []corev1.PodIP{{IP: podIP}}
	if s.StartTime == nil {
		t := metav1.NewTime(now.Truncate(time.Second))
		s.StartTime = &t
	}
	start := s.StartTime.Time
	var finish time.Time
	if d, ok := exitAfter(pod); ok {
		if end := start.Add(d); now.Before(end) {
			again = end.Sub(now)
		} else {
			finish = end
		}
	}
	s.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, true, start, finish)
	s.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, false, start, finish)
	s.Phase = corev1.PodRunning
	if !finish.IsZero() {
		s.Phase = corev1.PodSucceeded
	}
	setConditions(pod, &s, now)
	return s, again
}

// exitAfter reads ExitAfterAnnotation of a pod that does not restart.
func exitAfter(pod *corev1.Pod) (time.Duration, bool) {
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever && pod.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return 0, false
	}
	v, ok := pod.Annotations[ExitAfterAnnotation]
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return d, true
}

func containerStatuses(pod *corev1.Pod, specs []corev1.Container, initC bool, start, finish time.Time) []corev1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(specs))
	for i := range specs {
		out = append(out, containerStatus(pod, &specs[i], initC, start, finish))
	}
	return out
}

// containerStatus: init containers ran to completion at the pod's start
// (sidecars, restartPolicy Always, keep running); the others run until
// finish, when set.
func containerStatus(pod *corev1.Pod, c *corev1.Container, initC bool, start, finish time.Time) corev1.ContainerStatus {
	id := "simulated://" + string(pod.UID) + "-" + c.Name
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "simulated://" + c.Image, ContainerID: id}
	started := metav1.NewTime(start)
	sidecar := initC && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	switch {
	case initC && !sidecar:
		cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: started, FinishedAt: started, ContainerID: id}
		cs.Ready, cs.Started = true, ptrBool(false)
	case !finish.IsZero():
		cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", StartedAt: started, FinishedAt: metav1.NewTime(finish.Truncate(time.Second)), ContainerID: id}
		cs.Started = ptrBool(false)
	default:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
		cs.Ready, cs.Started = true, ptrBool(true)
	}
	return cs
}

func ptrBool(b bool) *bool { return &b }

// setConditions sets PodReadyToStartContainers, Initialized,
// ContainersReady and Ready; PodScheduled and others stay.
func setConditions(pod *corev1.Pod, s *corev1.PodStatus, now time.Time) {
	running := s.Phase == corev1.PodRunning
	reason := ""
	if !running {
		reason = "PodCompleted"
	}
	setCondition(s, corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: condition(running)}, now)
	setCondition(s, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}, now)
	setCondition(s, corev1.PodCondition{Type: corev1.ContainersReady, Status: condition(running), Reason: reason}, now)
	ready := corev1.PodCondition{Type: corev1.PodReady, Status: condition(running), Reason: reason}
	if missing := failingGates(pod, s); running && len(missing) > 0 {
		ready.Status, ready.Reason = corev1.ConditionFalse, "ReadinessGatesNotReady"
		ready.Message = "readiness gates not True: [" + strings.Join(missing, " ") + "]"
	}
	setCondition(s, ready, now)
}

func condition(ok bool) corev1.ConditionStatus {
	if ok {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// failingGates lists the pod's readiness gates whose condition is not True.
func failingGates(pod *corev1.Pod, s *corev1.PodStatus) []string {
	var out []string
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range s.Conditions {
			ok = ok || c.Type == g.ConditionType && c.Status == corev1.ConditionTrue
		}
		if !ok {
			out = append(out, string(g.ConditionType))
		}
	}
	return out
}

// setCondition replaces or adds c, keeping the transition and probe times
// when the status did not change.
func setCondition(s *corev1.PodStatus, c corev1.PodCondition, now time.Time) {
	stamp := metav1.NewTime(now.Truncate(time.Second))
	for i := range s.Conditions {
		old := &s.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		c.LastTransitionTime, c.LastProbeTime = stamp, old.LastProbeTime
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return
	}
	c.LastTransitionTime = stamp
	s.Conditions = append(s.Conditions, c)
}
