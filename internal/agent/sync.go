package agent

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/agent/volume"
)

// retrySoon is how long to wait after a failure that may pass.
const retrySoon = 2 * time.Second

// syncPod brings the runtime in line with the pod uid: runs what should
// run, restarts what crashed, kills what is deleted, and reports status.
// It returns when to sync again, and done once the pod is gone everywhere.
func (a *Agent) syncPod(ctx context.Context, uid types.UID, st *podState) (time.Duration, bool) {
	pod := a.pods.get(uid)
	rp, err := a.podState(ctx, uid)
	if err != nil {
		a.log.Warn("read runtime state", "pod", uid, "err", err)
		return retrySoon, false
	}
	switch {
	case pod == nil:
		// Gone from the API (or a static pod removed): stop everything.
		a.killPod(ctx, nil, rp, orphanGrace(rp))
		a.cleanupPod(ctx, uid, rp)
		return 0, true
	case pod.DeletionTimestamp != nil:
		a.killPod(ctx, pod, rp, remainingGrace(pod))
		a.cleanupPod(ctx, uid, rp)
		a.finishDeletion(ctx, pod)
		return time.Second, false
	case isTerminal(pod):
		if !st.killed {
			// Containers still running in a terminal pod were evicted:
			// they stop at once, as under the kubelet's hard eviction.
			a.killPod(ctx, pod, rp, 0)
			st.killed = true
			if fresh, err := a.podState(ctx, uid); err == nil {
				// Report the stopped containers; the phase stays terminal.
				a.status.update(ctx, pod, fresh, st)
			}
		}
		return resyncPeriod, false
	}
	next := a.reconcile(ctx, pod, rp, st)
	if fresh, err := a.podState(ctx, uid); err == nil {
		rp = fresh
	}
	a.status.update(ctx, pod, rp, st)
	return next, false
}

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// reconcile makes the sandbox and containers of a live pod match its spec.
func (a *Agent) reconcile(ctx context.Context, pod *corev1.Pod, rp *runtimePod, st *podState) time.Duration {
	if st.startTime.IsZero() {
		st.startTime = time.Now()
	}
	vols, err := a.volumes.Setup(ctx, pod)
	if err != nil {
		if mes := volume.MountErrors(err); len(mes) > 0 {
			for _, me := range mes {
				a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%s", me.Error())
			}
		} else {
			a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%v", err)
		}
		a.waitAll(pod, st, "ContainerCreating", "")
		return retrySoon
	}
	if !rp.ready() {
		if err := a.startSandbox(ctx, pod, rp, st); err != nil {
			return a.backoff.delay(backoffKey(pod, "sandbox"))
		}
		fresh, err := a.podState(ctx, pod.UID)
		if err != nil {
			return retrySoon
		}
		rp = fresh
	}
	a.probes.UpdatePodIP(pod.UID, rp.ip())
	if done, next := a.syncInitContainers(ctx, pod, rp, st, vols); !done {
		return next
	}
	next := resyncPeriod
	for i := range pod.Spec.Containers {
		if d := a.syncContainer(ctx, pod, &pod.Spec.Containers[i], rp, st, vols, false); d > 0 && d < next {
			next = d
		}
	}
	return next
}

// waitAll marks every container as waiting with reason.
func (a *Agent) waitAll(pod *corev1.Pod, st *podState, reason, msg string) {
	for _, c := range pod.Spec.InitContainers {
		st.setWaiting(c.Name, reason, msg)
	}
	for _, c := range pod.Spec.Containers {
		st.setWaiting(c.Name, reason, msg)
	}
}

// syncInitContainers runs init containers one at a time, each to
// completion. done says all of them succeeded.
func (a *Agent) syncInitContainers(ctx context.Context, pod *corev1.Pod, rp *runtimePod, st *podState, vols volume.Volumes) (bool, time.Duration) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur, _ := rp.latest(c.Name)
		if cur != nil && cur.State == criv1.ContainerState_CONTAINER_EXITED && cur.ExitCode == 0 {
			continue
		}
		if cur != nil && cur.State == criv1.ContainerState_CONTAINER_RUNNING {
			return false, resyncPeriod
		}
		if cur != nil && cur.State == criv1.ContainerState_CONTAINER_EXITED && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return false, resyncPeriod // the pod failed; status says so
		}
		return false, a.syncContainer(ctx, pod, c, rp, st, vols, true)
	}
	return true, 0
}

// syncContainer starts a missing container, restarts an exited one when
// the restart policy says so (with crash-loop back-off), and replaces one
// whose spec changed or whose liveness probe failed. It returns when the
// container next needs attention (0: nothing scheduled).
func (a *Agent) syncContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, st *podState, vols volume.Volumes, initC bool) time.Duration {
	cur, _ := rp.latest(c.Name)
	if cur == nil {
		return a.startContainer(ctx, pod, c, rp, st, vols, 0)
	}
	restarts := restartCountOf(cur.Annotations)
	if cur.State == criv1.ContainerState_CONTAINER_RUNNING || cur.State == criv1.ContainerState_CONTAINER_CREATED {
		switch {
		case cur.Annotations[annoContainerHash] != containerHash(c):
			a.killContainer(ctx, pod, c, cur, gracePeriod(pod), "Container "+c.Name+" definition changed, will be restarted")
		case !a.alive(cur.Id):
			a.killContainer(ctx, pod, c, cur, a.livenessGrace(pod, c), "Container "+c.Name+" failed liveness probe, will be restarted")
		default:
			if !st.probed[cur.Id] {
				// Adopted after an agent restart: follow its probes.
				st.probed[cur.Id] = true
				a.probes.ContainerStarted(pod, c, cur.Id, time.Unix(0, cur.StartedAt))
			}
			return 0
		}
		if !shouldRestart(pod, 1, initC) {
			return 0
		}
		return a.restartAfterBackoff(ctx, pod, c, rp, st, vols, restarts, time.Now())
	}
	if !shouldRestart(pod, cur.ExitCode, initC) {
		return 0
	}
	return a.restartAfterBackoff(ctx, pod, c, rp, st, vols, restarts, time.Unix(0, cur.FinishedAt))
}

// shouldRestart applies the pod's restart policy to an exit code. Init
// containers restart on failure unless the policy is Never.
func shouldRestart(pod *corev1.Pod, exitCode int32, initC bool) bool {
	switch pod.Spec.RestartPolicy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return !initC || exitCode != 0
}

// restartAfterBackoff starts the next attempt of a container, or reports
// CrashLoopBackOff while its back-off lasts.
func (a *Agent) restartAfterBackoff(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, st *podState, vols volume.Volumes, restarts int32, finished time.Time) time.Duration {
	key := backoffKey(pod, c.Name)
	if wait := a.backoff.remaining(key, finished); wait > 0 {
		msg := "back-off " + a.backoff.delay(key).String() + " restarting failed container=" + c.Name + " pod=" + pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")"
		if w, ok := st.waitingFor(c.Name); !ok || w.Reason != "CrashLoopBackOff" {
			a.recorder.Eventf(pod, corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, pod.Name, pod.Namespace, pod.UID)
		}
		st.setWaiting(c.Name, "CrashLoopBackOff", msg)
		return wait
	}
	a.backoff.next(key)
	return a.startContainer(ctx, pod, c, rp, st, vols, restarts+1)
}
