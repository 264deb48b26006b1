package replicaset

import (
	"context"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// statusUpdateRetries is how many times a failed status update is retried
// on a freshly read object.
const statusUpdateRetries = 1

// calculateStatus counts r's pods into a new status. manageErr, the error
// of this sync's creates or deletes, sets the ReplicaFailure condition; a
// sync without one clears it. next is how long until a ready pod becomes
// available (0 if none is waiting), so the status can be updated then.
func calculateStatus(r *replicated, pods []*corev1.Pod, manageErr error, now time.Time) (status appsv1.ReplicaSetStatus, next time.Duration) {
	status = *r.status.DeepCopy()
	var fullyLabeled, ready, available int32
	template := labels.Nothing()
	if r.template != nil {
		template = labels.SelectorFromSet(r.template.Labels)
	}
	for _, p := range pods {
		if template.Matches(labels.Set(p.Labels)) {
			fullyLabeled++
		}
		isReady, isAvailable, wait := availability(p, r.minReadySeconds, now)
		if isReady {
			ready++
		}
		if isAvailable {
			available++
		} else if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	status.Replicas = int32(len(pods))
	status.FullyLabeledReplicas = fullyLabeled
	status.ReadyReplicas = ready
	status.AvailableReplicas = available
	setFailure(&status, r.replicas, len(pods), manageErr, now)
	return status, next
}

// setFailure keeps the ReplicaFailure condition: added (not rewritten)
// while creates or deletes fail, removed once a sync succeeds.
func setFailure(status *appsv1.ReplicaSetStatus, want int32, have int, manageErr error, now time.Time) {
	i := conditionIndex(status.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && i < 0:
		reason := ""
		if d := have - int(want); d < 0 {
			reason = "FailedCreate"
		} else if d > 0 {
			reason = "FailedDelete"
		}
		status.Conditions = append(status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && i >= 0:
		status.Conditions = append(status.Conditions[:i:i], status.Conditions[i+1:]...)
		if len(status.Conditions) == 0 {
			status.Conditions = nil
		}
	}
}

func conditionIndex(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}

// statusUnchanged reports whether writing status would change nothing.
func statusUnchanged(r *replicated, s appsv1.ReplicaSetStatus) bool {
	old := r.status
	return old.Replicas == s.Replicas && old.FullyLabeledReplicas == s.FullyLabeledReplicas &&
		old.ReadyReplicas == s.ReadyReplicas && old.AvailableReplicas == s.AvailableReplicas &&
		r.meta.Generation == old.ObservedGeneration && reflect.DeepEqual(old.Conditions, s.Conditions)
}

// writeStatus writes status through the status subresource if it changed,
// stamped with the generation it was computed for; a failed write is retried
// once on a fresh copy of the object.
func (c *Controller) writeStatus(ctx context.Context, r *replicated, status appsv1.ReplicaSetStatus) (*replicated, error) {
	if statusUnchanged(r, status) {
		return r, nil
	}
	status.ObservedGeneration = r.meta.Generation
	cur := r
	for i := 0; ; i++ {
		updated, err := c.kind.updateStatus(ctx, cur, status)
		if err == nil {
			return updated, nil
		}
		if i >= statusUpdateRetries {
			return nil, err
		}
		if cur, err = c.kind.getLive(ctx, r.meta.Namespace, r.meta.Name); err != nil {
			return nil, err
		}
	}
}
