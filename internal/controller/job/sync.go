package job

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

const (
	msgBackoffLimit = "Job has reached the specified backoff limit"
	msgDeadline     = "Job was active longer than specified deadline"
	msgCompletions  = "Reached expected number of succeeded pods"
)

// sync brings the Job with the given key towards its spec and writes its
// status. It returns when to look at the Job again (0: when something
// changes).
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	if strings.HasPrefix(key, orphanPrefix) {
		return 0, c.syncOrphan(ctx, key)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if j.Spec.ManagedBy != nil && *j.Spec.ManagedBy != managedBy {
		return 0, nil
	}
	if finished(j) != nil {
		return c.cleanupFinished(ctx, j)
	}
	sel, err := selectorOf(j)
	if err != nil {
		c.log.Warn("skipping job", "namespace", ns, "name", name, "err", err)
		return 0, nil
	}
	if j.DeletionTimestamp != nil {
		// Going: its pods must not be held up by the finalizer.
		pods, err := c.ownedPods(j)
		if err != nil {
			return 0, err
		}
		return 0, c.removeFinalizers(ctx, pods)
	}
	pods, err := c.claimPods(ctx, j, sel)
	if err != nil {
		return 0, err
	}
	return c.syncJob(ctx, key, j, newState(j, pods, c.released.has))
}

func selectorOf(j *batchv1.Job) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil || j.Spec.Selector == nil || sel.Empty() {
		return nil, errNoSelector
	}
	return sel, nil
}

// ownedPods returns the pods that the Job's selector matches and the Job
// controls.
func (c *Controller) ownedPods(j *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := selectorOf(j)
	if err != nil {
		return nil, err
	}
	all, err := c.pods.Pods(j.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []*corev1.Pod
	for _, p := range all {
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == j.UID {
			out = append(out, p)
		}
	}
	return out, nil
}

// syncJob decides whether the Job has finished, creates or deletes pods
// accordingly and writes the status.
func (c *Controller) syncJob(ctx context.Context, key string, orig *batchv1.Job, st *jobState) (time.Duration, error) {
	now := c.now()
	j := orig.DeepCopy()
	status := &j.Status
	if status.StartTime == nil && !suspended(j) {
		status.StartTime = &metav1.Time{Time: now}
	}
	c.setSuspended(j, now) // before the deadline is checked: resuming restarts it
	target := c.finishTarget(j, st, now)
	var next time.Duration
	var manageErr error
	canAct := c.exp.Satisfied(key)
	switch {
	case target != nil:
		if target.Type == batchv1.JobFailureTarget {
			st.failRemaining()
		}
		if canAct {
			manageErr = c.deletePods(ctx, key, j, st.active)
			st.terminating += int32(len(st.active))
			st.active, st.ready = nil, 0
		}
	case suspended(j):
		if canAct {
			manageErr = c.deletePods(ctx, key, j, st.active)
			st.terminating += int32(len(st.active))
			st.active, st.ready = nil, 0
		}
	default:
		if canAct {
			next, manageErr = c.manage(ctx, key, j, st, now)
		}
		next = earliest(next, c.untilDeadline(j, now))
	}
	c.fillStatus(j, st, target, now)
	if err := c.trackStatus(ctx, orig, j, st, target, now); err != nil {
		return 0, err
	}
	return next, manageErr
}

// finishTarget returns the condition the Job is to finish with, or nil:
// one it already carries (FailureTarget or SuccessCriteriaMet), else one
// earned now.
func (c *Controller) finishTarget(j *batchv1.Job, st *jobState, now time.Time) *batchv1.JobCondition {
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet} {
		if cond := findCondition(j.Status.Conditions, t); cond != nil && cond.Status == corev1.ConditionTrue {
			return cond
		}
	}
	fail := func(reason, msg string) *batchv1.JobCondition {
		return newCondition(batchv1.JobFailureTarget, reason, msg, now)
	}
	switch {
	case st.failJob != "":
		return fail(batchv1.JobReasonPodFailurePolicy, st.failJob)
	}
	if reason, msg, ok := perIndexTarget(j, st); ok {
		return fail(reason, msg)
	}
	switch {
	case exceedsBackoffLimit(j, st):
		return fail(batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit)
	case pastDeadline(j, now):
		return fail(batchv1.JobReasonDeadlineExceeded, msgDeadline)
	}
	if msg, ok := matchSuccessPolicy(j, st.succeededIdx); ok {
		return newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
	}
	switch {
	case st.complete():
		return newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletions, now)
	}
	return nil
}

// exceedsBackoffLimit reports whether the Job has failed more often than
// its backoffLimit allows: failed pods, or, with restartPolicy OnFailure,
// container restarts of its active pods.
func exceedsBackoffLimit(j *batchv1.Job, st *jobState) bool {
	limit := int32(6)
	if j.Spec.BackoffLimit != nil {
		limit = *j.Spec.BackoffLimit
	}
	if st.failed() > limit {
		return true
	}
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	if limit == 0 {
		return st.restarts > 0
	}
	return st.restarts >= limit
}

func pastDeadline(j *batchv1.Job, now time.Time) bool {
	if j.Spec.ActiveDeadlineSeconds == nil || j.Status.StartTime == nil || suspended(j) {
		return false
	}
	d := time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second
	return !now.Before(j.Status.StartTime.Add(d))
}

// untilDeadline returns how long until the Job's active deadline passes,
// or 0 if it has none.
func (c *Controller) untilDeadline(j *batchv1.Job, now time.Time) time.Duration {
	if j.Spec.ActiveDeadlineSeconds == nil || j.Status.StartTime == nil || suspended(j) {
		return 0
	}
	d := j.Status.StartTime.Add(time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second).Sub(now)
	return max(d, time.Millisecond)
}

// earliest returns the shorter of two waits, 0 meaning none.
func earliest(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
