package core

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// kubectl get pods: the columns and the STATUS / READY / RESTARTS cells as
// Kubernetes' pod printer computes them.

// nodeUnreachablePodReason is the status.reason of pods on a lost node.
const nodeUnreachablePodReason = "NodeLost"

var podTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
		registry.Column("Status", "string", 0, "The aggregate status of the containers in this pod."),
		registry.Column("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
		registry.AgeColumn,
		registry.Column("IP", "string", 1, corev1.PodStatus{}.SwaggerDoc()["podIP"]),
		registry.Column("Node", "string", 1, corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
		registry.Column("Nominated Node", "string", 1, corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
		registry.Column("Readiness Gates", "string", 1, corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
	},
	Row: func(obj runtime.Object) []interface{} { return podRow(obj.(*corev1.Pod)) },
}

// podSummary is what the pod printer derives from the container statuses.
type podSummary struct {
	reason          string
	ready, total    int
	restarts        int
	lastRestart     metav1.Time
	sidecarRestarts int
	lastSidecar     metav1.Time
}

func podRow(pod *corev1.Pod) []interface{} {
	s := summarizePod(pod)
	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, registry.Age(s.lastRestart))
	}
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	gates := "<none>"
	if len(pod.Spec.ReadinessGates) > 0 {
		gates = fmt.Sprintf("%d/%d", trueReadinessGates(pod), len(pod.Spec.ReadinessGates))
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.reason,
		restarts,
		registry.Age(pod.CreationTimestamp),
		registry.NoneIfEmpty(podIP),
		registry.NoneIfEmpty(pod.Spec.NodeName),
		registry.NoneIfEmpty(pod.Status.NominatedNodeName),
		gates,
	}
}

func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{reason: string(pod.Status.Phase), total: len(pod.Spec.Containers)}
	if pod.Status.Reason != "" {
		s.reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			s.reason = corev1.PodReasonSchedulingGated
		}
	}
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
			s.total++
		}
	}
	initializing := summarizeInitContainers(pod, sidecars, &s)
	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		summarizeContainers(pod, &s)
	}
	if pod.DeletionTimestamp != nil {
		switch {
		case pod.Status.Reason == nodeUnreachablePodReason:
			s.reason = "Unknown"
		case pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
			s.reason = "Terminating"
		}
	}
	return s
}

// summarizeInitContainers counts init container restarts and, while the
// pod initializes, sets the Init:... status. It reports whether the pod is
// still initializing.
func summarizeInitContainers(pod *corev1.Pod, sidecars map[string]bool, s *podSummary) bool {
	for i, c := range pod.Status.InitContainerStatuses {
		s.restarts += int(c.RestartCount)
		laterRestart(&s.lastRestart, c.LastTerminationState.Terminated)
		if sidecars[c.Name] {
			s.sidecarRestarts += int(c.RestartCount)
			laterRestart(&s.lastSidecar, c.LastTerminationState.Terminated)
		}
		switch t, w := c.State.Terminated, c.State.Waiting; {
		case t != nil && t.ExitCode == 0:
			continue
		case sidecars[c.Name] && c.Started != nil && *c.Started:
			if c.Ready {
				s.ready++
			}
			continue
		case t != nil:
			switch {
			case t.Reason != "":
				s.reason = "Init:" + t.Reason
			case t.Signal != 0:
				s.reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				s.reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case w != nil && w.Reason != "" && w.Reason != "PodInitializing":
			s.reason = "Init:" + w.Reason
		default:
			s.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		return true
	}
	return false
}

// summarizeContainers counts ready containers and restarts (sidecar
// restarts included) and takes the status from the first container with
// a waiting or terminated reason.
func summarizeContainers(pod *corev1.Pod, s *podSummary) {
	s.restarts, s.lastRestart = s.sidecarRestarts, s.lastSidecar
	running := false
	for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
		c := pod.Status.ContainerStatuses[i]
		s.restarts += int(c.RestartCount)
		laterRestart(&s.lastRestart, c.LastTerminationState.Terminated)
		switch w, t := c.State.Waiting, c.State.Terminated; {
		case w != nil && w.Reason != "":
			s.reason = w.Reason
		case t != nil && t.Reason != "":
			s.reason = t.Reason
		case t != nil && t.Signal != 0:
			s.reason = fmt.Sprintf("Signal:%d", t.Signal)
		case t != nil:
			s.reason = fmt.Sprintf("ExitCode:%d", t.ExitCode)
		case c.Ready && c.State.Running != nil:
			running = true
			s.ready++
		}
	}
	// A completed container next to a running one: the pod still runs.
	if s.reason == "Completed" && running {
		if podConditionTrue(pod, corev1.PodReady) {
			s.reason = "Running"
		} else {
			s.reason = "NotReady"
		}
	}
}

func laterRestart(last *metav1.Time, t *corev1.ContainerStateTerminated) {
	if t != nil && last.Before(&t.FinishedAt) {
		*last = t.FinishedAt
	}
}

func podConditionTrue(pod *corev1.Pod, typ corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func trueReadinessGates(pod *corev1.Pod) int {
	n := 0
	for _, gate := range pod.Spec.ReadinessGates {
		for _, c := range pod.Status.Conditions {
			if c.Type == gate.ConditionType {
				if c.Status == corev1.ConditionTrue {
					n++
				}
				break
			}
		}
	}
	return n
}
