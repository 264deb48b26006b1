package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/agent/prober"
)

// minShutdownGrace is the least time a container gets after SIGTERM when
// its pod is being deleted, as the kubelet gives.
const minShutdownGrace = 2

func gracePeriod(pod *corev1.Pod) int64 {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// remainingGrace is the time left of a deleted pod's grace period.
func remainingGrace(pod *corev1.Pod) int64 {
	g := gracePeriod(pod)
	if d := pod.DeletionGracePeriodSeconds; d != nil {
		g = *d
	}
	if ts := pod.DeletionTimestamp; ts != nil {
		if left := int64(time.Until(ts.Time).Seconds()); left < g {
			g = left
		}
	}
	if g < 0 {
		g = 0
	}
	return g
}

// orphanGrace is the grace period for containers of a pod the API no
// longer has, read back from what the agent recorded on them.
func orphanGrace(rp *runtimePod) int64 {
	for _, c := range rp.running() {
		if g, err := strconv.ParseInt(c.Annotations[annoTerminationGrace], 10, 64); err == nil {
			if g > minShutdownGrace {
				return minShutdownGrace
			}
			return g
		}
	}
	return minShutdownGrace
}

// killPod stops every container (preStop hooks first, SIGTERM, then SIGKILL
// after the grace period), in parallel, then the sandbox.
func (a *Agent) killPod(ctx context.Context, pod *corev1.Pod, rp *runtimePod, grace int64) {
	var wg sync.WaitGroup
	for _, cs := range rp.running() {
		wg.Add(1)
		go func(cs *criv1.ContainerStatus) {
			defer wg.Done()
			a.killContainer(ctx, pod, specOf(pod, cs.Metadata.GetName()), cs, grace, "")
		}(cs)
	}
	wg.Wait()
	for _, sb := range rp.Sandboxes {
		if sb.State == criv1.PodSandboxState_SANDBOX_READY {
			a.stopSandbox(ctx, sb.Id)
		}
	}
}

func specOf(pod *corev1.Pod, name string) *corev1.Container {
	if pod == nil {
		return nil
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

// killContainer runs the preStop hook, then stops the container within
// grace seconds. reason, when set, is the Killing event's message.
func (a *Agent) killContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, cs *criv1.ContainerStatus, grace int64, reason string) {
	start := time.Now()
	if pod != nil && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		hookCtx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second)
		withIP := pod.DeepCopy()
		if withIP.Status.PodIP == "" {
			withIP.Status.PodIP = a.podIPFromStatus(cs)
		}
		if msg, err := prober.RunHook(hookCtx, execer{a}, withIP, c, cs.Id, c.Lifecycle.PreStop); err != nil {
			a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %s", hookMessage(msg, err))
		}
		cancel()
		grace -= int64(time.Since(start).Seconds())
		if grace < minShutdownGrace {
			grace = minShutdownGrace
		}
	}
	if pod != nil {
		if reason == "" {
			reason = "Stopping container " + cs.Metadata.GetName()
		}
		a.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "%s", reason)
	}
	if _, err := a.rt.Runtime.StopContainer(ctx, &criv1.StopContainerRequest{ContainerId: cs.Id, Timeout: grace}); err != nil {
		a.log.Debug("stop container", "id", cs.Id, "err", err)
	}
	a.probes.ContainerStopped(cs.Id)
	a.forgetLiveness(cs.Id)
}

func hookMessage(msg string, err error) string {
	if msg != "" {
		return msg
	}
	return err.Error()
}

// runPostStart runs the postStart hook; a failure kills the container, as
// in Kubernetes.
func (a *Agent) runPostStart(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id, podIP string) error {
	withIP := pod.DeepCopy()
	if withIP.Status.PodIP == "" {
		withIP.Status.PodIP = podIP
	}
	msg, err := prober.RunHook(ctx, execer{a}, withIP, c, id, c.Lifecycle.PostStart)
	if err == nil {
		return nil
	}
	a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: %s", hookMessage(msg, err))
	cs := &criv1.ContainerStatus{Id: id, Metadata: &criv1.ContainerMetadata{Name: c.Name}}
	a.killContainer(ctx, pod, c, cs, gracePeriod(pod), "FailedPostStartHook")
	return err
}

// cleanupPod removes what a stopped pod leaves behind: sandboxes and
// containers, volumes, logs and cgroups.
func (a *Agent) cleanupPod(ctx context.Context, uid types.UID, rp *runtimePod) {
	for _, sb := range rp.Sandboxes {
		a.stopSandbox(ctx, sb.Id)
		if _, err := a.rt.Runtime.RemovePodSandbox(ctx, &criv1.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			a.log.Debug("remove sandbox", "id", sb.Id, "err", err)
		}
	}
	if err := a.volumes.Teardown(uid); err != nil {
		// A volume may still be mounted under the pod's directory:
		// removing the directory would delete its data. Leave it.
		a.log.Warn("tear down volumes", "pod", uid, "err", err)
	} else {
		_ = os.RemoveAll(filepath.Join(a.cfg.DataDir, "pods", string(uid)))
	}
	if rp.Name != "" {
		_ = os.RemoveAll(filepath.Join(a.cfg.DataDir, "logs", rp.Namespace+"_"+rp.Name+"_"+string(uid)))
	}
	a.removeCgroups(uid)
	a.probes.RemovePod(uid)
	a.backoff.forgetPod(uid)
}

// removeCgroups deletes the pod's cgroup in every hierarchy: containerd
// leaves them behind.
func (a *Agent) removeCgroups(uid types.UID) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*")
	rel := filepath.Join(a.cfg.CgroupParent, "pod"+string(uid))
	for _, d := range dirs {
		p := filepath.Join(d, rel)
		subs, _ := os.ReadDir(p)
		for _, s := range subs {
			if s.IsDir() {
				_ = os.Remove(filepath.Join(p, s.Name()))
			}
		}
		_ = os.Remove(p)
	}
}

// finishDeletion removes a deleted pod from the API once its containers
// are gone, as the kubelet does: grace period 0, guarded by the UID.
func (a *Agent) finishDeletion(ctx context.Context, pod *corev1.Pod) {
	if isStatic(pod) {
		return
	}
	zero := int64(0)
	uid := pod.UID
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		a.log.Warn("delete pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// podIPFromStatus is a fallback for hooks: the pod's IP is normally in its
// status already.
func (a *Agent) podIPFromStatus(cs *criv1.ContainerStatus) string {
	uid := cs.Labels[labelPodUID]
	if uid == "" {
		return ""
	}
	rp, err := a.podState(context.Background(), types.UID(uid))
	if err != nil {
		return ""
	}
	return rp.ip()
}
