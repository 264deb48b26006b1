package job

import (
	"context"
	"fmt"

	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func findCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func newCondition(t batchv1.JobConditionType, reason, msg string, now time.Time) *batchv1.JobCondition {
	ts := metav1.NewTime(now)
	return &batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
		LastProbeTime: ts, LastTransitionTime: ts}
}

// finished returns the Job's Complete or Failed condition if it is true.
func finished(j *batchv1.Job) *batchv1.JobCondition {
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := findCondition(j.Status.Conditions, t); c != nil && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// setCondition adds the condition or updates the one of its type; it
// reports whether anything changed. The transition time moves only with
// the status.
func setCondition(status *batchv1.JobStatus, c *batchv1.JobCondition) bool {
	old := findCondition(status.Conditions, c.Type)
	if old == nil {
		status.Conditions = append(status.Conditions, *c)
		return true
	}
	if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
		return false
	}
	if old.Status != c.Status {
		old.LastTransitionTime = c.LastTransitionTime
	}
	old.Status, old.Reason, old.Message, old.LastProbeTime = c.Status, c.Reason, c.Message, c.LastProbeTime
	return true
}

// setSuspended keeps the Suspended condition: true while the Job is
// suspended, false once it is resumed, which restarts its active
// deadline.
func (c *Controller) setSuspended(j *batchv1.Job, now time.Time) {
	if suspended(j) {
		if setCondition(&j.Status, newCondition(batchv1.JobSuspended, "JobSuspended", "Job suspended", now)) {
			c.recorder.Event(j, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
		return
	}
	if old := findCondition(j.Status.Conditions, batchv1.JobSuspended); old != nil && old.Status == corev1.ConditionTrue {
		resumed := newCondition(batchv1.JobSuspended, "JobResumed", "Job resumed", now)
		resumed.Status = corev1.ConditionFalse
		setCondition(&j.Status, resumed)
		j.Status.StartTime = &metav1.Time{Time: now}
		c.recorder.Event(j, corev1.EventTypeNormal, "Resumed", "Job resumed")
	}
}

// fillStatus writes the counts of st into the Job's status, and the
// conditions of a finish: the target (FailureTarget or
// SuccessCriteriaMet) at once, Failed or Complete once no pod is left
// running or terminating and every terminated pod is counted.
func (c *Controller) fillStatus(j *batchv1.Job, st *jobState, target *batchv1.JobCondition, now time.Time) {
	s := &j.Status
	s.Active = int32(len(st.active))
	s.Ready = ptr(st.ready)
	s.Terminating = ptr(st.terminating)
	s.Succeeded = st.countedSucceeded
	s.Failed = st.countedFailed
	s.UncountedTerminatedPods = st.uncounted.DeepCopy()
	if indexed(j) {
		s.CompletedIndexes = formatIndexes(st.succeededIdx)
	}
	if perIndex(j) {
		s.FailedIndexes = ptr(formatIndexes(st.failedIdx))
	}
	if target == nil {
		return
	}
	setCondition(s, target)
	if s.Active > 0 || st.terminating > 0 || !st.allCounted() {
		return
	}
	final := *target
	if target.Type == batchv1.JobSuccessCriteriaMet {
		final.Type = batchv1.JobComplete
	} else {
		final.Type = batchv1.JobFailed
	}
	if findCondition(s.Conditions, final.Type) != nil {
		return
	}
	final.LastProbeTime, final.LastTransitionTime = metav1.NewTime(now), metav1.NewTime(now)
	if final.Type == batchv1.JobComplete {
		s.CompletionTime = &metav1.Time{Time: now}
		c.recorder.Event(j, corev1.EventTypeNormal, "Completed", "Job completed")
	} else {
		c.recorder.Event(j, corev1.EventTypeWarning, final.Reason, final.Message)
	}
	setCondition(s, &final)
}

func ptr[T any](v T) *T { return &v }

// writeStatus writes the status of j through the status subresource if it
// differs from that of orig, the cached Job; a failed write is retried
// once on a fresh copy of the Job.
func (c *Controller) writeStatus(ctx context.Context, orig, j *batchv1.Job) (*batchv1.Job, error) {
	if apiequality.Semantic.DeepEqual(orig.Status, j.Status) {
		return orig, nil
	}
	api := c.client.BatchV1().Jobs(j.Namespace)
	updated, err := api.UpdateStatus(ctx, j, metav1.UpdateOptions{})
	if err == nil {
		return updated, nil
	}
	live, gerr := api.Get(ctx, j.Name, metav1.GetOptions{})
	if gerr != nil || live.UID != j.UID {
		return nil, fmt.Errorf("update status of job %s: %w", j.Name, err)
	}
	live.Status = j.Status
	if updated, err = api.UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("update status of job %s: %w", j.Name, err)
	}
	return updated, nil
}

// trackStatus writes the status (recording newly terminated pods as
// uncounted), removes the finalizers of the terminated pods, and writes
// the status again with those pods counted, finishing the Job if that
// was all it waited for.
func (c *Controller) trackStatus(ctx context.Context, orig, j *batchv1.Job, st *jobState, target *batchv1.JobCondition, now time.Time) error {
	written, err := c.writeStatus(ctx, orig, j)
	if err != nil || len(st.release) == 0 {
		return err
	}
	if err := c.removeFinalizers(ctx, st.release); err != nil {
		return err
	}
	st.countReleased()
	next := written.DeepCopy()
	next.Status.Conditions = j.Status.Conditions
	c.fillStatus(next, st, target, now)
	_, err = c.writeStatus(ctx, written, next)
	return err
}
