package agent

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// checkEmptyDirLimits evicts a pod whose disk-backed emptyDir has grown
// past its sizeLimit, as the kubelet's eviction manager does (memory-backed
// ones are bounded by their tmpfs size).
func (a *Agent) checkEmptyDirLimits(ctx context.Context, pod *corev1.Pod) {
	for _, v := range pod.Spec.Volumes {
		ed := v.EmptyDir
		if ed == nil || ed.SizeLimit == nil || ed.Medium == corev1.StorageMediumMemory {
			continue
		}
		used, err := a.volumes.EmptyDirUsage(pod.UID, v.Name)
		if err != nil || used <= ed.SizeLimit.Value() {
			continue
		}
		a.evict(ctx, pod, fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, ed.SizeLimit.String()))
		return
	}
}

// evict fails the pod with reason Evicted; its worker then stops it.
func (a *Agent) evict(ctx context.Context, pod *corev1.Pod, msg string) {
	a.recorder.Eventf(pod, corev1.EventTypeWarning, "Evicted", "%s", msg)
	next := pod.DeepCopy()
	next.Status.Phase, next.Status.Reason, next.Status.Message = corev1.PodFailed, "Evicted", msg
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	next.Status.Conditions = append(next.Status.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet", Message: msg, LastTransitionTime: now,
	})
	if _, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		a.log.Warn("evict pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return
	}
	a.workers.kick(ctx, pod.UID)
}
