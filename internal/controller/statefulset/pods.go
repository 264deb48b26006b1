package statefulset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxBatch caps the creates of a Parallel set issued at once.
const maxBatch = 500

// execute carries out p: the terminal pods are deleted and the missing
// ones created first, then, if that all worked, the other deletes.
// Creates and deletes are expected before they are issued, so pod events
// racing the requests count; those that fail or are not issued are taken
// back.
func (c *Controller) execute(ctx context.Context, s *syncState, p *plan) error {
	if len(p.creates)+len(p.replace)+len(p.deletes) == 0 {
		return nil
	}
	var keys []string
	for _, pod := range append(append([]*corev1.Pod(nil), p.replace...), p.deletes...) {
		keys = append(keys, podKey(pod))
	}
	c.exp.Expect(s.key, len(p.creates), keys)
	err := c.deletePods(ctx, s, p.replace)
	created := 0
	if err == nil {
		created, err = slowStart(len(p.creates), func(i int) error { return c.createPod(ctx, s, p.creates[i]) })
	}
	if skipped := len(p.creates) - created; skipped > 0 {
		c.exp.CreationsObserved(s.key, skipped)
	}
	if err != nil {
		for _, pod := range p.deletes {
			c.exp.DeletionObserved(s.key, podKey(pod))
		}
		return err
	}
	return c.deletePods(ctx, s, p.deletes)
}

// createPod creates the claims of the pod with the given ordinal that are
// missing, then the pod. A namespace being deleted refuses all creates;
// that is not a failure of the set's.
func (c *Controller) createPod(ctx context.Context, s *syncState, ordinal int) error {
	pod := s.newReplica(ordinal)
	if err := c.createClaims(ctx, s.set, pod); err != nil {
		c.podEvent(s.set, "create", pod.Name, err)
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	created, err := c.client.CoreV1().Pods(s.set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			c.podEvent(s.set, "create", pod.Name, err)
		}
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	c.podEvent(s.set, "create", pod.Name, nil)
	return c.syncClaimOwners(ctx, s.set, created)
}

// deletePods deletes the pods in parallel, each only if it is still the
// pod of that UID, and returns the errors other than NotFound.
func (c *Controller) deletePods(ctx context.Context, s *syncState, victims []*corev1.Pod) error {
	errs := make([]error, len(victims))
	var wg sync.WaitGroup
	for i, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.deletePod(ctx, s.key, s.set, p)
		}()
	}
	wg.Wait()
	for i, p := range victims {
		if errs[i] == nil {
			s.deleted[p.Name] = true
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) deletePod(ctx context.Context, key string, set *appsv1.StatefulSet, p *corev1.Pod) error {
	opts := metav1.DeleteOptions{}
	if p.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &p.UID}
	}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, opts)
	if err == nil {
		c.podEvent(set, "delete", p.Name, nil)
		return nil
	}
	c.exp.DeletionObserved(key, podKey(p))
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone, or replaced by a pod of the same name: nothing to delete.
		return nil
	}
	c.podEvent(set, "delete", p.Name, err)
	return fmt.Errorf("delete pod %s: %w", p.Name, err)
}

// podEvent records the outcome of verb (create, delete, update) on a pod,
// worded as upstream's.
func (c *Controller) podEvent(set *appsv1.StatefulSet, verb, pod string, err error) {
	reason := strings.ToUpper(verb[:1]) + verb[1:]
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+reason,
			"%s Pod %s in StatefulSet %s failed error: %s", verb, pod, set.Name, err)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+reason,
		"%s Pod %s in StatefulSet %s successful", verb, pod, set.Name)
}

// slowStart calls fn(0..count-1) in batches of 1, 2, 4, ... up to
// maxBatch, the calls of a batch in parallel, and stops after the first
// batch with a failure. It returns the number of successful calls and the
// errors of the failed batch.
func slowStart(count int, fn func(i int) error) (int, error) {
	done, next := 0, 0
	for batch := min(count, 1); batch > 0; batch = min(2*batch, count-next, maxBatch) {
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for j := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = fn(next + j)
			}()
		}
		wg.Wait()
		next += batch
		err := errors.Join(errs...)
		for _, e := range errs {
			if e == nil {
				done++
			}
		}
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
