package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// statusManager computes pods' status from the runtime and writes it.
type statusManager struct{ a *Agent }

func newStatusManager(a *Agent) *statusManager { return &statusManager{a: a} }

// update writes the pod's status when it changed.
func (m *statusManager) update(ctx context.Context, pod *corev1.Pod, rp *runtimePod, st *podState) {
	status := m.a.computeStatus(pod, rp, st)
	if equality.Semantic.DeepEqual(&status, &pod.Status) {
		return
	}
	next := pod.DeepCopy()
	next.Status = status
	if isStatic(pod) {
		m.a.pods.setStaticStatus(pod.UID, status)
		return
	}
	_, err := m.a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		m.a.log.Warn("update pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// computeStatus is the pod's status as the kubelet would report it.
func (a *Agent) computeStatus(pod *corev1.Pod, rp *runtimePod, st *podState) corev1.PodStatus {
	s := *pod.Status.DeepCopy()
	s.HostIP, s.HostIPs = a.cfg.NodeIP.String(), a.hostIPs()
	ip := rp.ip()
	if pod.Spec.HostNetwork {
		ip = a.cfg.NodeIP.String()
	}
	if ip != "" {
		s.PodIP, s.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	if s.StartTime == nil && !st.startTime.IsZero() {
		t := metav1.NewTime(st.startTime.Truncate(time.Second))
		s.StartTime = &t
	}
	s.InitContainerStatuses = a.containerStatuses(pod, pod.Spec.InitContainers, rp, st, true)
	s.ContainerStatuses = a.containerStatuses(pod, pod.Spec.Containers, rp, st, false)
	s.Phase = podPhase(pod, &s)
	if isTerminal(pod) {
		s.Phase = pod.Status.Phase // a finished or evicted pod stays so
	}
	a.setConditions(pod, &s, rp)
	return s
}

func (a *Agent) containerStatuses(pod *corev1.Pod, specs []corev1.Container, rp *runtimePod, st *podState, initC bool) []corev1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	old := map[string]corev1.ContainerStatus{}
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		old[cs.Name] = cs
	}
	out := make([]corev1.ContainerStatus, 0, len(specs))
	for i := range specs {
		out = append(out, a.containerStatus(pod, &specs[i], rp, st, initC, old[specs[i].Name]))
	}
	return out
}

func (a *Agent) containerStatus(pod *corev1.Pod, c *corev1.Container, rp *runtimePod, st *podState, initC bool, old corev1.ContainerStatus) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptrBool(false)}
	cur, prev := rp.latest(c.Name)
	waiting, hasWaiting := st.waitingFor(c.Name)
	if cur == nil {
		if !hasWaiting {
			waiting.Reason = "ContainerCreating"
			if initC || !podInitialized(pod, rp) {
				waiting.Reason = "PodInitializing"
			}
		}
		cs.State.Waiting = &waiting
		cs.RestartCount = old.RestartCount
		return cs
	}
	cs.ContainerID, cs.ImageID = "containerd://"+cur.Id, cur.ImageRef
	cs.RestartCount = restartCountOf(cur.Annotations)
	switch cur.State {
	case criv1.ContainerState_CONTAINER_RUNNING:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(cur.StartedAt)}
		cs.Started = ptrBool(a.probes.Started(cur.Id))
		cs.Ready = a.probes.Ready(cur.Id)
	case criv1.ContainerState_CONTAINER_EXITED:
		term := a.terminated(pod, c, cur)
		if hasWaiting {
			cs.State.Waiting, cs.LastTerminationState.Terminated = &waiting, term
		} else {
			cs.State.Terminated = term
		}
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	if cs.LastTerminationState.Terminated == nil && prev != nil && prev.State == criv1.ContainerState_CONTAINER_EXITED {
		cs.LastTerminationState.Terminated = a.terminated(pod, c, prev)
	}
	return cs
}

// terminated reports an exited container with its termination message.
func (a *Agent) terminated(pod *corev1.Pod, c *corev1.Container, cur *criv1.ContainerStatus) *corev1.ContainerStateTerminated {
	reason := cur.Reason
	if reason == "" {
		reason = "Error"
		if cur.ExitCode == 0 {
			reason = "Completed"
		}
	}
	return &corev1.ContainerStateTerminated{
		ExitCode: cur.ExitCode, Reason: reason, Message: a.terminationMessage(pod, c, cur),
		StartedAt: nanoTime(cur.StartedAt), FinishedAt: nanoTime(cur.FinishedAt), ContainerID: "containerd://" + cur.Id,
	}
}

// terminationMessage reads what the container wrote to its termination
// message path, or the tail of its log for FallbackToLogsOnError.
func (a *Agent) terminationMessage(pod *corev1.Pod, c *corev1.Container, cur *criv1.ContainerStatus) string {
	restarts := restartCountOf(cur.Annotations)
	path := filepath.Join(a.cfg.DataDir, "pods", string(pod.UID), "containers", c.Name, strconv.Itoa(int(restarts))+"-termination-log")
	data, _ := os.ReadFile(path)
	if len(data) > 4096 {
		data = data[:4096]
	}
	if len(data) == 0 && c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError && cur.ExitCode != 0 {
		return tailLog(cur.LogPath, 80, 2048)
	}
	return string(data)
}

func nanoTime(ns int64) metav1.Time {
	if ns == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(time.Unix(0, ns).Truncate(time.Second))
}

func ptrBool(b bool) *bool { return &b }

// podInitialized says every init container ran to success.
func podInitialized(pod *corev1.Pod, rp *runtimePod) bool {
	for _, c := range pod.Spec.InitContainers {
		cur, _ := rp.latest(c.Name)
		if cur == nil || cur.State != criv1.ContainerState_CONTAINER_EXITED || cur.ExitCode != 0 {
			return false
		}
	}
	return true
}

// podPhase follows the kubelet's rules.
func podPhase(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodPhase {
	for _, cs := range s.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			continue
		}
		if failedInit(cs) && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range s.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0:
		if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

func failedInit(cs corev1.ContainerStatus) bool {
	if t := cs.State.Terminated; t != nil {
		return t.ExitCode != 0
	}
	t := cs.LastTerminationState.Terminated
	return cs.State.Waiting != nil && t != nil && t.ExitCode != 0
}

// setConditions sets Initialized, ContainersReady, Ready and
// PodReadyToStartContainers, keeping transition times of unchanged ones.
func (a *Agent) setConditions(pod *corev1.Pod, s *corev1.PodStatus, rp *runtimePod) {
	set := func(t corev1.PodConditionType, ok bool, reason, msg string) {
		st := corev1.ConditionFalse
		if ok {
			st, reason, msg = corev1.ConditionTrue, "", ""
		}
		setCondition(s, corev1.PodCondition{Type: t, Status: st, Reason: reason, Message: msg})
	}
	set(corev1.PodReadyToStartContainers, rp.ready() || pod.Spec.HostNetwork && rp.sandbox() != nil, "", "")
	var notInit, notReady []string
	for _, cs := range s.InitContainerStatuses {
		if t := cs.State.Terminated; t == nil || t.ExitCode != 0 {
			notInit = append(notInit, cs.Name)
		}
	}
	for _, cs := range s.ContainerStatuses {
		if !cs.Ready {
			notReady = append(notReady, cs.Name)
		}
	}
	set(corev1.PodInitialized, len(notInit) == 0, "ContainersNotInitialized", "containers with incomplete status: ["+strings.Join(notInit, " ")+"]")
	reason, msg := "ContainersNotReady", "containers with unready status: ["+strings.Join(notReady, " ")+"]"
	if s.Phase == corev1.PodSucceeded || s.Phase == corev1.PodFailed {
		reason, msg = "PodCompleted", ""
	}
	set(corev1.ContainersReady, len(notReady) == 0 && s.Phase == corev1.PodRunning, reason, msg)
	set(corev1.PodReady, len(notReady) == 0 && s.Phase == corev1.PodRunning && gatesPass(pod, s), reason, msg)
}

func gatesPass(pod *corev1.Pod, s *corev1.PodStatus) bool {
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range s.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// setCondition replaces or adds a condition, keeping the transition time
// when the status did not change.
func setCondition(s *corev1.PodStatus, c corev1.PodCondition) {
	for i := range s.Conditions {
		old := &s.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		} else {
			c.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
		}
		c.LastProbeTime = old.LastProbeTime
		*old = c
		return
	}
	c.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
	s.Conditions = append(s.Conditions, c)
}
