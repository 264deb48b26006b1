package deployment

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons, as kube-controller-manager's.
const (
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonReplicaSetCreateError      = "ReplicaSetCreateError"
	ReasonNewReplicaSetCreated       = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonNewReplicaSetAvailable     = "NewReplicaSetAvailable"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	ReasonDeploymentPaused           = "DeploymentPaused"
	ReasonDeploymentResumed          = "DeploymentResumed"
	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

func (c *Controller) newCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string) appsv1.DeploymentCondition {
	now := metav1.NewTime(c.clock.Now())
	return appsv1.DeploymentCondition{Type: t, Status: status, LastUpdateTime: now, LastTransitionTime: now, Reason: reason, Message: msg}
}

// getCondition returns a copy of the condition of type t, or nil.
func getCondition(s appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			c := s.Conditions[i]
			return &c
		}
	}
	return nil
}

// setCondition puts cond last in s, unless a condition of its type has its
// status and reason already; the transition time stays if the status does.
func setCondition(s *appsv1.DeploymentStatus, cond appsv1.DeploymentCondition) {
	cur := getCondition(*s, cond.Type)
	if cur != nil && cur.Status == cond.Status && cur.Reason == cond.Reason {
		return
	}
	if cur != nil && cur.Status == cond.Status {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(s, cond.Type)
	s.Conditions = append(s.Conditions, cond)
}

func removeCondition(s *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var kept []appsv1.DeploymentCondition
	for _, c := range s.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	s.Conditions = kept
}

func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

func hasRevisionHistoryLimit(d *appsv1.Deployment) bool {
	return d.Spec.RevisionHistoryLimit != nil && *d.Spec.RevisionHistoryLimit != math.MaxInt32
}

// calculateStatus derives d's status from its ReplicaSets, with the
// Available condition; other conditions are carried over.
func (c *Controller) calculateStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) appsv1.DeploymentStatus {
	replicas, ready, available := statusSums(allRSs)
	updated, _, _ := statusSums([]*appsv1.ReplicaSet{newRS})
	s := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            replicas,
		UpdatedReplicas:     updated,
		ReadyReplicas:       ready,
		AvailableReplicas:   available,
		UnavailableReplicas: max(totalSize(allRSs)-available, 0),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if available >= desired(d)-maxUnavailable(d) {
		setCondition(&s, c.newCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability."))
	} else {
		setCondition(&s, c.newCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability."))
	}
	return s
}

// syncDeploymentStatus writes the status calculated from the ReplicaSets
// if it changed; it estimates no progress (scaling, pausing).
func (c *Controller) syncDeploymentStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	s := c.calculateStatus(allRSs, newRS, d)
	if reflect.DeepEqual(d.Status, s) {
		return nil
	}
	d.Status = s
	return c.writeStatus(ctx, d)
}

// syncRolloutStatus writes the status during a rollout, with the
// Progressing condition (complete, progressing or timed out) and the
// ReplicaSets' ReplicaFailure, and requeues d for its progress deadline.
func (c *Controller) syncRolloutStatus(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) error {
	s := c.calculateStatus(allRSs, newRS, d)
	if !hasProgressDeadline(d) {
		removeCondition(&s, appsv1.DeploymentProgressing)
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	complete := s.Replicas == s.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewReplicaSetAvailable
	if hasProgressDeadline(d) && !complete {
		c.setProgressing(&s, d, newRS, cur)
	}
	if failures := replicaFailures(allRSs, newRS); len(failures) > 0 {
		setCondition(&s, failures[0])
	} else {
		removeCondition(&s, appsv1.DeploymentReplicaFailure)
	}
	if reflect.DeepEqual(d.Status, s) {
		c.requeueStuckDeployment(d, s)
		return nil
	}
	d.Status = s
	return c.writeStatus(ctx, d)
}

// setProgressing sets the Progressing condition of a rollout in flight.
func (c *Controller) setProgressing(s *appsv1.DeploymentStatus, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, cur *appsv1.DeploymentCondition) {
	subject := fmt.Sprintf("Deployment %q", d.Name)
	if newRS != nil {
		subject = fmt.Sprintf("ReplicaSet %q", newRS.Name)
	}
	switch {
	case deploymentComplete(d, s):
		setCondition(s, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable, subject+" has successfully progressed."))
	case deploymentProgressing(d, s):
		// Progress refreshes lastUpdateTime even with the same reason,
		// which setCondition would not do.
		cond := c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated, subject+" is progressing.")
		if cur != nil {
			if cur.Status == corev1.ConditionTrue {
				cond.LastTransitionTime = cur.LastTransitionTime
			}
			removeCondition(s, appsv1.DeploymentProgressing)
		}
		setCondition(s, cond)
	case c.deploymentTimedOut(d, s):
		setCondition(s, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadlineExceeded, subject+" has timed out progressing."))
	}
}

// deploymentComplete: all desired replicas are updated and available, no
// old ones run, and the status is of the current generation.
func deploymentComplete(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	n := desired(d)
	return s.UpdatedReplicas == n && s.Replicas == n && s.AvailableReplicas == n && s.ObservedGeneration >= d.Generation
}

// deploymentProgressing: compared with d's current status, new pods were
// added or became ready or available, or old pods went away.
func deploymentProgressing(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	old := d.Status
	return s.UpdatedReplicas > old.UpdatedReplicas ||
		s.Replicas-s.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		s.ReadyReplicas > old.ReadyReplicas ||
		s.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut: the last progress (or ReplicaSet creation, or
// resume) is older than progressDeadlineSeconds, or it timed out before.
func (c *Controller) deploymentTimedOut(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	cond := getCondition(*s, appsv1.DeploymentProgressing)
	switch {
	case cond == nil, cond.Reason == ReasonNewReplicaSetAvailable:
		// Nothing to measure from; or a finished rollout whose condition
		// the cache has not caught up with yet.
		return false
	case cond.Reason == ReasonProgressDeadlineExceeded:
		return true
	}
	deadline := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
	return deadline.Before(c.clock.Now())
}

// replicaFailures converts the ReplicaSets' ReplicaFailure conditions,
// the new ReplicaSet's first.
func replicaFailures(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []appsv1.DeploymentCondition {
	if out := rsFailures(newRS); len(out) > 0 {
		return out
	}
	var out []appsv1.DeploymentCondition
	for _, rs := range allRSs {
		out = append(out, rsFailures(rs)...)
	}
	return out
}

func rsFailures(rs *appsv1.ReplicaSet) []appsv1.DeploymentCondition {
	if rs == nil {
		return nil
	}
	var out []appsv1.DeploymentCondition
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure {
			out = append(out, appsv1.DeploymentCondition{
				Type: appsv1.DeploymentConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, LastUpdateTime: c.LastTransitionTime,
				Reason: c.Reason, Message: c.Message,
			})
		}
	}
	return out
}

// requeueStuckDeployment queues d again when its progress deadline would
// pass, so that ProgressDeadlineExceeded shows without another event. It
// returns the delay: 0 now, -1 not queued.
func (c *Controller) requeueStuckDeployment(d *appsv1.Deployment, s appsv1.DeploymentStatus) time.Duration {
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil {
		return -1
	}
	if deploymentComplete(d, &s) || cur.Reason == ReasonProgressDeadlineExceeded {
		return -1
	}
	after := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(c.clock.Now())
	if after < time.Second {
		c.queue.AddRateLimited(d.Namespace + "/" + d.Name)
		return 0
	}
	// A second more, against skew between the clocks of AddAfter and ours.
	c.enqueueAfter(d, after+time.Second)
	return after
}

// writeStatus stores d's status and revision annotation through the status
// subresource, which keeps annotations as Kubernetes' does. d's
// resourceVersion follows the server's, for the next write.
func (c *Controller) writeStatus(ctx context.Context, d *appsv1.Deployment) error {
	out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ResourceVersion = out.ResourceVersion
	return nil
}
