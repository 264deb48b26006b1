package job

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// maxPodsPerSync caps the creates or deletes of one sync.
	maxPodsPerSync = 500
	// initialBackoff is the delay before replacing a failed pod; it
	// doubles with each further failure since the last success, up to
	// maxBackoff.
	initialBackoff = 10 * time.Second
	maxBackoff     = 6 * time.Minute
)

// manage creates the pods the Job is missing and deletes those it has too
// many of. It returns how long until back-off lets it create pods it
// could not create now.
func (c *Controller) manage(ctx context.Context, key string, j *batchv1.Job, st *jobState, now time.Time) (time.Duration, error) {
	surplus, missing := plan(j, st)
	if len(surplus) > 0 {
		err := c.deletePods(ctx, key, j, surplus)
		st.active = slices.DeleteFunc(st.active, func(p *corev1.Pod) bool { return slices.Contains(surplus, p) })
		st.terminating += int32(len(surplus))
		return 0, err
	}
	if len(missing) == 0 {
		return 0, nil
	}
	if wait := backoffRemaining(st, now); wait > 0 {
		return wait, nil
	}
	missing = missing[:min(len(missing), maxPodsPerSync)]
	created, err := c.createPods(ctx, key, j, st, missing)
	st.active = append(st.active, created...)
	return 0, err
}

// plan returns the active pods to delete and the indexes of pods to
// create (noIndex for each pod of a NonIndexed Job).
func plan(j *batchv1.Job, st *jobState) (surplus []*corev1.Pod, missing []int) {
	if indexed(j) {
		return planIndexed(j, st)
	}
	want := int(parallelism(j))
	if n, ok := completions(j); ok {
		want = min(want, int(n-st.succeeded()))
	} else if st.succeeded() > 0 {
		want = len(st.active) // let the running ones finish, start none
	}
	have := len(st.active)
	if replaceOnlyFailed(j) {
		have += int(st.terminating)
	}
	if len(st.active) > want {
		return newestFirst(st.active)[:len(st.active)-max(want, 0)], nil
	}
	for range want - have {
		missing = append(missing, noIndex)
	}
	return nil, missing
}

// planIndexed deletes active pods of a bad, duplicate or succeeded index
// and those over parallelism (highest index first), and creates pods for
// the lowest indexes that have neither succeeded nor an active pod.
func planIndexed(j *batchv1.Job, st *jobState) (surplus []*corev1.Pod, missing []int) {
	n, _ := completions(j)
	running := map[int]bool{}
	var keep []*corev1.Pod
	for _, p := range st.active {
		i := podIndex(p)
		if i < 0 || i >= int(n) || running[i] || st.succeededIdx[i] || st.failedIdx[i] {
			surplus = append(surplus, p)
			continue
		}
		running[i] = true
		keep = append(keep, p)
	}
	par := int(parallelism(j))
	if len(keep) > par {
		slices.SortFunc(keep, func(a, b *corev1.Pod) int { return podIndex(b) - podIndex(a) })
		surplus = append(surplus, keep[:len(keep)-par]...)
	}
	if len(surplus) > 0 {
		return surplus, nil
	}
	budget := par - len(keep)
	if replaceOnlyFailed(j) {
		budget -= int(st.terminating)
	}
	for i := 0; i < int(n) && len(missing) < budget; i++ {
		if !running[i] && !st.succeededIdx[i] && !st.failedIdx[i] {
			missing = append(missing, i)
		}
	}
	return nil, missing
}

// replaceOnlyFailed reports whether a terminating pod is replaced only
// once it has failed (podReplacementPolicy Failed).
func replaceOnlyFailed(j *batchv1.Job) bool {
	return j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed
}

// newestFirst orders pods for deletion: not yet ready before ready, then
// the most recently created first.
func newestFirst(pods []*corev1.Pod) []*corev1.Pod {
	out := slices.Clone(pods)
	slices.SortStableFunc(out, func(a, b *corev1.Pod) int {
		if ra, rb := isReady(a), isReady(b); ra != rb {
			if ra {
				return 1
			}
			return -1
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return out
}

// backoffRemaining returns how long the Job must still wait before
// replacing failed pods: 10 s after the last failure, doubling with every
// failure since the last success, at most 6 minutes.
func backoffRemaining(st *jobState, now time.Time) time.Duration {
	if st.failuresSinceSuccess == 0 {
		return 0
	}
	d := initialBackoff
	for i := 1; i < st.failuresSinceSuccess && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return max(st.lastFailure.Add(d).Sub(now), 0)
}

// createPods creates a pod for each index in slow-start batches (1, 2,
// 4, ...), stopping after a batch with a failure. The creates are expected
// before they are issued; those that fail or are skipped are taken back.
func (c *Controller) createPods(ctx context.Context, key string, j *batchv1.Job, st *jobState, indexes []int) ([]*corev1.Pod, error) {
	c.exp.ExpectCreations(key, len(indexes))
	var created []*corev1.Pod
	var mu sync.Mutex
	done := 0
	var firstErr error
	for batch := 1; done < len(indexes) && firstErr == nil; batch *= 2 {
		part := indexes[done:min(done+batch, len(indexes))]
		errs := make([]error, len(part))
		var wg sync.WaitGroup
		for k, idx := range part {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := c.createPod(ctx, j, st, idx)
				errs[k] = err
				if p != nil {
					mu.Lock()
					created = append(created, p)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		done += len(part)
		for _, err := range errs {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	if skipped := len(indexes) - len(created); skipped > 0 {
		c.exp.CreationsObserved(key, skipped)
	}
	return created, firstErr
}

// createPod creates one pod of the Job. A namespace being deleted refuses
// all creates; that is not the Job's failure.
func (c *Controller) createPod(ctx context.Context, j *batchv1.Job, st *jobState, index int) (*corev1.Pod, error) {
	pod := podFromJob(j, index)
	if perIndex(j) && index >= 0 {
		annotateFailures(pod, st.indexFail, index)
	}
	created, err := c.client.CoreV1().Pods(j.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil, nil
		}
		c.recorder.Eventf(j, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return nil, fmt.Errorf("create pod: %w", err)
	}
	c.recorder.Eventf(j, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return created, nil
}

// deletePods deletes the given pods in parallel and returns the first
// error other than NotFound.
func (c *Controller) deletePods(ctx context.Context, key string, j *batchv1.Job, victims []*corev1.Pod) error {
	if len(victims) == 0 {
		return nil
	}
	victims = victims[:min(len(victims), maxPodsPerSync)]
	keys := make([]string, len(victims))
	for i, p := range victims {
		keys[i] = podKey(p)
	}
	c.exp.ExpectDeletions(key, keys)
	errs := make([]error, len(victims))
	var wg sync.WaitGroup
	for i, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.deletePod(ctx, key, j, p)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Controller) deletePod(ctx context.Context, key string, j *batchv1.Job, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.exp.DeletionObserved(key, podKey(p))
		return nil
	case err != nil:
		c.exp.DeletionObserved(key, podKey(p))
		c.recorder.Eventf(j, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	c.recorder.Eventf(j, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}
