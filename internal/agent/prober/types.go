// Package prober runs a node's container probes (liveness, readiness,
// startup) and lifecycle hooks (postStart, preStop) the way kubelet does:
// the same defaults, thresholds, startup gating, probe handlers, User-Agent
// and event wording.
//
// The Manager owns one goroutine per probe of each started container, plus
// one that delivers Updates. ContainerStopped and RemovePod end a container's
// workers; Stop ends them all and waits for them.
package prober

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// kubeVersion is the Kubernetes major.minor skiff implements; it goes in the
// User-Agent of probes ("kube-probe/1.37") and hooks ("kube-lifecycle/1.37").
// Keep it in step with internal/cli.
const kubeVersion = "1.37"

// Event reasons, as kubelet records them.
const (
	ReasonUnhealthy    = "Unhealthy"
	ReasonProbeWarning = "ProbeWarning"
)

// Probe defaults, as the API server's defaulting sets them.
const (
	defaultPeriodSeconds    = 10
	defaultTimeoutSeconds   = 1
	defaultSuccessThreshold = 1
	defaultFailureThreshold = 3
	// minimumGracePeriod is kubelet's floor when a pod has no grace period.
	minimumGracePeriod = 2
)

// Kind is the kind of a probe.
type Kind int

// The probe kinds.
const (
	Liveness Kind = iota
	Readiness
	Startup
)

// String returns "Liveness", "Readiness" or "Startup", the words kubelet
// starts its probe events with.
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "Liveness"
	case Readiness:
		return "Readiness"
	case Startup:
		return "Startup"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Execer runs a command in a container (CRI ExecSync). A non-zero exit code
// is reported through exitCode with a nil err; err is for failures to run
// the command. A timeout is reported as an error matching
// context.DeadlineExceeded or a gRPC DeadlineExceeded status. A zero timeout
// means none.
type Execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (stdout, stderr []byte, exitCode int32, err error)
}

// Recorder records an event about a pod.
type Recorder interface {
	Event(pod *corev1.Pod, eventType, reason, message string)
}

// Update reports a change in a container's probe results. A Liveness or
// Startup update with Success=false means the container failed that probe
// past its failureThreshold and must be killed (with ProbeGracePeriod) and
// restarted as its restart policy says. A Startup update with Success=true
// means the container has started. Readiness updates report every change of
// Ready, both ways.
type Update struct {
	PodUID        types.UID
	ContainerName string
	ContainerID   string
	Kind          Kind
	Success       bool
}

// probeOf returns the container's probe of kind k, or nil.
func probeOf(c *corev1.Container, k Kind) *corev1.Probe {
	switch k {
	case Liveness:
		return c.LivenessProbe
	case Readiness:
		return c.ReadinessProbe
	case Startup:
		return c.StartupProbe
	}
	return nil
}

// withDefaults returns a copy of p with unset fields defaulted.
func withDefaults(p *corev1.Probe) *corev1.Probe {
	q := p.DeepCopy()
	if q.PeriodSeconds <= 0 {
		q.PeriodSeconds = defaultPeriodSeconds
	}
	if q.TimeoutSeconds <= 0 {
		q.TimeoutSeconds = defaultTimeoutSeconds
	}
	if q.SuccessThreshold <= 0 {
		q.SuccessThreshold = defaultSuccessThreshold
	}
	if q.FailureThreshold <= 0 {
		q.FailureThreshold = defaultFailureThreshold
	}
	return q
}

// ProbeGracePeriod is the grace period, in seconds, for killing container c
// after it failed its probe of kind k: the pod's deletion grace period when
// it is being deleted, else the probe's terminationGracePeriodSeconds
// (liveness and startup only), else the pod's terminationGracePeriodSeconds,
// else kubelet's minimum of 2 seconds.
func ProbeGracePeriod(pod *corev1.Pod, c *corev1.Container, k Kind) int64 {
	if pod.DeletionGracePeriodSeconds != nil {
		return *pod.DeletionGracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		return minimumGracePeriod
	}
	if c != nil && (k == Liveness || k == Startup) {
		if p := probeOf(c, k); p != nil && p.TerminationGracePeriodSeconds != nil {
			return *p.TerminationGracePeriodSeconds
		}
	}
	return *pod.Spec.TerminationGracePeriodSeconds
}

// podDesc formats a pod as kubelet does in messages: name_namespace(uid).
func podDesc(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// podIPOf returns the pod's primary IP from its status, or "".
func podIPOf(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}
