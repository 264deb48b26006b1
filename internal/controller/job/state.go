package job

import (
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// jobState is what a sync learns from a Job's pods and status.
//
// Terminated pods are counted as upstream's tracking with finalizers: a
// pod of the Job carries the batch.kubernetes.io/job-tracking finalizer
// until its outcome is recorded. A terminated pod that still has it is
// first added to status.uncountedTerminatedPods (written before anything
// else), then its finalizer is removed, and once the cache shows it gone
// (or the pod gone) its UID moves from the uncounted lists into
// status.succeeded or status.failed. A pod is thus counted exactly once,
// even when it is deleted right after it ends.
type jobState struct {
	job    *batchv1.Job
	active []*corev1.Pod
	// terminating counts pods being deleted that are not yet terminal.
	terminating     int32
	terminatingPods []*corev1.Pod
	ready           int32
	// countedSucceeded and countedFailed are status.succeeded and
	// status.failed: pods whose outcome is recorded and finalizer gone.
	countedSucceeded, countedFailed int32
	// uncounted holds the UIDs of terminated pods whose finalizer is not
	// yet known to be removed.
	uncounted batchv1.UncountedTerminatedPods
	// release holds the terminated pods whose finalizer is to be removed
	// once the status is written.
	release []*corev1.Pod
	// succeededIdx holds the succeeded indexes of an Indexed Job.
	succeededIdx map[int]bool
	// failedIdx and indexFail are the failed indexes and the failures
	// per index of a Job with backoffLimitPerIndex.
	failedIdx map[int]bool
	indexFail indexFailures
	// failJob is the message of a podFailurePolicy FailJob match.
	failJob string
	// failuresSinceSuccess and lastFailure drive the back-off of creates.
	failuresSinceSuccess int
	lastFailure          time.Time
	// released reports whether a pod's finalizer removal was issued.
	released func(types.UID) bool
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

func hasTracking(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer)
}

// tracked reports whether the pod holds the finalizer and was not counted
// already (its finalizer removal issued, the cache lagging behind).
func (st *jobState) tracked(p *corev1.Pod) bool {
	return hasTracking(p) && (st.released == nil || !st.released(p.UID))
}

// newState sorts the Job's pods into active, terminating and terminated,
// and advances the counting of terminated ones.
func newState(j *batchv1.Job, pods []*corev1.Pod, released func(types.UID) bool) *jobState {
	st := &jobState{job: j, succeededIdx: map[int]bool{}, released: released,
		countedSucceeded: j.Status.Succeeded, countedFailed: j.Status.Failed}
	st.failedIdx = map[int]bool{}
	st.indexFail = indexFailures{counted: map[int]int{}, ignored: map[int]int{}}
	if n, ok := completions(j); ok && indexed(j) {
		st.succeededIdx = parseIndexes(j.Status.CompletedIndexes, int(n))
		if j.Status.FailedIndexes != nil {
			st.failedIdx = parseIndexes(*j.Status.FailedIndexes, int(n))
		}
	}
	st.moveCounted(pods)
	var lastSuccess time.Time
	var failures []time.Time
	cond := findCondition(j.Status.Conditions, batchv1.JobSuccessCriteriaMet)
	succeeding := cond != nil && cond.Status == corev1.ConditionTrue
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			st.addSucceeded(p)
			lastSuccess = later(lastSuccess, finishTime(p))
		case succeeding && (p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed):
			// Stopped because the Job met its success criteria: no
			// failure.
			if p.Status.Phase != corev1.PodFailed {
				st.terminating++
				st.terminatingPods = append(st.terminatingPods, p)
			}
			if st.tracked(p) {
				st.release = append(st.release, p)
			}
		case p.Status.Phase == corev1.PodFailed:
			if st.addFailed(p) {
				failures = append(failures, finishTime(p))
			}
		case p.DeletionTimestamp != nil:
			st.terminating++
			st.terminatingPods = append(st.terminatingPods, p)
			if !replaceOnlyFailed(j) {
				// Deleted pods count as failed: an orphaned or
				// force-deleted pod may never reach the Failed phase.
				st.recordFailed(p)
				failures = append(failures, deleteRequested(p))
			}
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
			st.lastFailure = later(st.lastFailure, t)
		}
	}
	return st
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// moveCounted moves the uncounted UIDs whose pod has lost its finalizer,
// or is gone, into the counters.
func (st *jobState) moveCounted(pods []*corev1.Pod) {
	tracked := map[types.UID]bool{}
	for _, p := range pods {
		if st.tracked(p) {
			tracked[p.UID] = true
		}
	}
	var u batchv1.UncountedTerminatedPods
	if old := st.job.Status.UncountedTerminatedPods; old != nil {
		u = *old.DeepCopy()
	}
	for _, uid := range u.Succeeded {
		if tracked[uid] {
			st.uncounted.Succeeded = append(st.uncounted.Succeeded, uid)
		} else {
			st.countedSucceeded++
		}
	}
	for _, uid := range u.Failed {
		if tracked[uid] {
			st.uncounted.Failed = append(st.uncounted.Failed, uid)
		} else {
			st.countedFailed++
		}
	}
}

// countReleased moves the pods whose finalizer was removed from the
// uncounted lists into the counters.
func (st *jobState) countReleased() {
	done := map[types.UID]bool{}
	for _, p := range st.release {
		done[p.UID] = true
	}
	keep := func(list []types.UID, counter *int32) []types.UID {
		var out []types.UID
		for _, uid := range list {
			if done[uid] {
				*counter++
			} else {
				out = append(out, uid)
			}
		}
		return out
	}
	st.uncounted.Succeeded = keep(st.uncounted.Succeeded, &st.countedSucceeded)
	st.uncounted.Failed = keep(st.uncounted.Failed, &st.countedFailed)
	st.release = nil
}

// addSucceeded records a succeeded pod that still has its finalizer.
func (st *jobState) addSucceeded(p *corev1.Pod) {
	n, _ := completions(st.job)
	if i := podIndex(p); indexed(st.job) && i >= 0 && i < int(n) && st.tracked(p) {
		st.succeededIdx[i] = true
	}
	if !st.tracked(p) {
		return
	}
	st.release = append(st.release, p)
	if !slices.Contains(st.uncounted.Succeeded, p.UID) {
		st.uncounted.Succeeded = append(st.uncounted.Succeeded, p.UID)
	}
}

// addFailed applies the podFailurePolicy to a failed pod, records it if
// it still has its finalizer, and reports whether the failure counts
// towards backoffLimit.
func (st *jobState) addFailed(p *corev1.Pod) bool {
	action, msg, ok := matchFailurePolicy(st.job.Spec.PodFailurePolicy, p)
	st.notePodFailure(p, action, ok)
	if ok && action == batchv1.PodFailurePolicyActionIgnore {
		if st.tracked(p) {
			st.release = append(st.release, p)
		}
		return false
	}
	if !st.tracked(p) {
		return true
	}
	if ok && action == batchv1.PodFailurePolicyActionFailJob && st.failJob == "" {
		st.failJob = msg
	}
	st.recordFailed(p)
	return true
}

// recordFailed records a failed pod that still has its finalizer as an
// uncounted failure to release.
func (st *jobState) recordFailed(p *corev1.Pod) {
	if !st.tracked(p) || slices.Contains(st.release, p) {
		return
	}
	st.release = append(st.release, p)
	if !slices.Contains(st.uncounted.Failed, p.UID) {
		st.uncounted.Failed = append(st.uncounted.Failed, p.UID)
	}
}

// failRemaining counts every pod not yet terminated as failed, for a Job
// that is failing: its pods are being deleted and will not succeed.
func (st *jobState) failRemaining() {
	for _, p := range st.active {
		st.recordFailed(p)
	}
	for _, p := range st.terminatingPods {
		st.recordFailed(p)
	}
}

// succeeded is the number of succeeded pods (indexes, for an Indexed
// Job), counted or not.
func (st *jobState) succeeded() int32 {
	if indexed(st.job) {
		return int32(len(st.succeededIdx))
	}
	return st.countedSucceeded + int32(len(st.uncounted.Succeeded))
}

// failed is the number of failed pods, counted or not.
func (st *jobState) failed() int32 {
	return st.countedFailed + int32(len(st.uncounted.Failed))
}

// allCounted reports whether no terminated pod awaits counting.
func (st *jobState) allCounted() bool {
	return len(st.uncounted.Succeeded) == 0 && len(st.uncounted.Failed) == 0
}

// complete reports whether the Job's pods meet its success criteria.
func (st *jobState) complete() bool {
	n, ok := completions(st.job)
	if !ok {
		return st.succeeded() > 0 && len(st.active) == 0
	}
	return st.succeeded() >= n
}
