package agent

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/agent/prober"
)

// markAlive records a new container as healthy.
func (a *Agent) markAlive(id string) {
	a.liveMu.Lock()
	defer a.liveMu.Unlock()
	delete(a.unhealthy, id)
}

// alive says whether the container's liveness and startup probes still
// pass.
func (a *Agent) alive(id string) bool {
	a.liveMu.Lock()
	defer a.liveMu.Unlock()
	return !a.unhealthy[id]
}

func (a *Agent) forgetLiveness(id string) {
	a.liveMu.Lock()
	defer a.liveMu.Unlock()
	delete(a.unhealthy, id)
}

// watchProbes turns probe results into syncs: a failed liveness or startup
// probe marks the container for restart, a readiness change updates the
// pod's status.
func (a *Agent) watchProbes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-a.probes.Updates():
			if !ok {
				return
			}
			if !u.Success && (u.Kind == prober.Liveness || u.Kind == prober.Startup) {
				a.liveMu.Lock()
				a.unhealthy[u.ContainerID] = true
				a.liveMu.Unlock()
			}
			a.workers.kick(ctx, u.PodUID)
		}
	}
}

// livenessGrace is the grace period for a container killed by a failed
// probe: the probe's own terminationGracePeriodSeconds, else the pod's.
func (a *Agent) livenessGrace(pod *corev1.Pod, c *corev1.Container) int64 {
	if g := prober.ProbeGracePeriod(pod, c, prober.Liveness); g > 0 {
		return g
	}
	return gracePeriod(pod)
}

// execer runs commands in containers through CRI, for probes and hooks.
type execer struct{ a *Agent }

func (e execer) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, int32, error) {
	resp, err := e.a.rt.Runtime.ExecSync(ctx, &criv1.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: int64(timeout.Seconds())})
	if err != nil {
		return nil, nil, -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	return resp.Stdout, resp.Stderr, resp.ExitCode, nil
}

// eventRecorder adapts client-go's recorder for the prober.
type eventRecorder struct{ r record.EventRecorder }

func (e eventRecorder) Event(pod *corev1.Pod, eventType, reason, message string) {
	e.r.Event(pod, eventType, reason, message)
}

// newRecorder records events as the kubelet does (source "kubelet" on the
// node), so kubectl describe shows them as users expect.
func newRecorder(client kubernetes.Interface, node string) record.EventRecorder {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: node})
}
