package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// jobState is what a sync learns from a Job's pods.
type jobState struct {
	job    *batchv1.Job
	active []*corev1.Pod
	// terminating counts pods being deleted that are not yet terminal.
	terminating int32
	ready       int32
	succeeded   int32
	failed      int32
	// succeededIdx holds the succeeded indexes of an Indexed Job.
	succeededIdx map[int]bool
	// failJob is the message of a podFailurePolicy FailJob match.
	failJob string
	// failuresSinceSuccess and lastFailure drive the back-off of creates.
	failuresSinceSuccess int
	lastFailure          time.Time
	// restarts sums the container restarts of active pods, for
	// restartPolicy OnFailure, whose failures are restarts.
	restarts int32
}

func indexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func completions(j *batchv1.Job) (int32, bool) {
	if j.Spec.Completions == nil {
		return 0, false
	}
	return *j.Spec.Completions, true
}

func parallelism(j *batchv1.Job) int32 {
	if j.Spec.Parallelism == nil {
		return 1
	}
	return *j.Spec.Parallelism
}

func suspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

// newState sorts the Job's pods into active, terminating, succeeded and
// failed.
func newState(j *batchv1.Job, pods []*corev1.Pod) *jobState {
	st := &jobState{job: j, succeededIdx: map[int]bool{}}
	n, _ := completions(j)
	if indexed(j) {
		st.succeededIdx = parseIndexes(j.Status.CompletedIndexes, int(n))
	}
	var lastSuccess time.Time
	var failures []time.Time
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			st.succeeded++
			if i := podIndex(p); indexed(j) && i >= 0 && i < int(n) {
				st.succeededIdx[i] = true
			}
			if t := finishTime(p); t.After(lastSuccess) {
				lastSuccess = t
			}
		case p.Status.Phase == corev1.PodFailed:
			if st.countFailure(p) {
				failures = append(failures, finishTime(p))
			}
		case p.DeletionTimestamp != nil:
			st.terminating++
		default:
			st.active = append(st.active, p)
			st.restarts += restartCount(p)
			if isReady(p) {
				st.ready++
			}
		}
	}
	for _, t := range failures {
		if t.After(lastSuccess) {
			st.failuresSinceSuccess++
			if t.After(st.lastFailure) {
				st.lastFailure = t
			}
		}
	}
	// Pods may be deleted before the Job finishes: what was counted stays.
	st.failed = max(st.failed, j.Status.Failed)
	if indexed(j) {
		st.succeeded = int32(len(st.succeededIdx))
	} else {
		st.succeeded = max(st.succeeded, j.Status.Succeeded)
	}
	return st
}

// countFailure applies the podFailurePolicy to a failed pod and reports
// whether the failure counts towards backoffLimit.
func (st *jobState) countFailure(p *corev1.Pod) bool {
	action, msg, ok := matchFailurePolicy(st.job.Spec.PodFailurePolicy, p)
	if ok && action == batchv1.PodFailurePolicyActionIgnore {
		return false
	}
	st.failed++
	if ok && action == batchv1.PodFailurePolicyActionFailJob && st.failJob == "" {
		st.failJob = msg
	}
	return true
}

// complete reports whether the Job's pods meet its success criteria.
func (st *jobState) complete() bool {
	n, ok := completions(st.job)
	if !ok {
		return st.succeeded > 0 && len(st.active) == 0
	}
	return st.succeeded >= n
}
