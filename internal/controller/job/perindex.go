package job

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	msgMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes    = "Job has failed indexes"
)

// perIndex reports whether the Job limits retries per index
// (backoffLimitPerIndex, Indexed Jobs only).
func perIndex(j *batchv1.Job) bool {
	return indexed(j) && j.Spec.BackoffLimitPerIndex != nil
}

// indexFailures holds, per index, the failures so far: counted ones and
// those a podFailurePolicy Ignore rule matched.
type indexFailures struct {
	counted, ignored map[int]int
}

func annotationCount(p *corev1.Pod, key string) int {
	n, err := strconv.Atoi(p.Annotations[key])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// notePodFailure records a failed pod of an index: the failures before it
// (from its annotations) plus itself. A failure past backoffLimitPerIndex,
// or matching a FailIndex rule, fails the index.
func (st *jobState) notePodFailure(p *corev1.Pod, action batchv1.PodFailurePolicyAction, matched bool) {
	i := podIndex(p)
	n, _ := completions(st.job)
	if !perIndex(st.job) || i < 0 || i >= int(n) {
		return
	}
	counted := annotationCount(p, batchv1.JobIndexFailureCountAnnotation)
	ignored := annotationCount(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
	if matched && action == batchv1.PodFailurePolicyActionIgnore {
		ignored++
	} else {
		counted++
	}
	st.indexFail.counted[i] = max(st.indexFail.counted[i], counted)
	st.indexFail.ignored[i] = max(st.indexFail.ignored[i], ignored)
	if (matched && action == batchv1.PodFailurePolicyActionFailIndex) || counted > int(*st.job.Spec.BackoffLimitPerIndex) {
		st.failedIdx[i] = true
	}
}

// perIndexTarget returns the failure a Job with backoffLimitPerIndex has
// come to, or nil: more failed indexes than maxFailedIndexes, or every
// index finished and some failed.
func perIndexTarget(j *batchv1.Job, st *jobState) (reason, msg string, ok bool) {
	if !perIndex(j) || len(st.failedIdx) == 0 {
		return "", "", false
	}
	if m := j.Spec.MaxFailedIndexes; m != nil && len(st.failedIdx) > int(*m) {
		return batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes, true
	}
	n, _ := completions(j)
	done := len(st.failedIdx)
	for i := range st.succeededIdx {
		if !st.failedIdx[i] {
			done++
		}
	}
	if done >= int(n) {
		return batchv1.JobReasonFailedIndexes, msgFailedIndexes, true
	}
	return "", "", false
}

// annotateFailures puts an index's failures so far on a new pod of it.
func annotateFailures(pod *corev1.Pod, f indexFailures, index int) {
	pod.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(f.counted[index])
	if n := f.ignored[index]; n > 0 {
		pod.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(n)
	}
}
