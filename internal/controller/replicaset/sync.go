package replicaset

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

const (
	// burstReplicas caps the creates or deletes of one sync, as
	// kube-controller-manager's BurstReplicas.
	burstReplicas = 500
	// slowStartInitialBatch is the size of the first batch of creates.
	slowStartInitialBatch = 1
	// availabilityMargin is added to the wait for a pod to become
	// available, so the requeued sync sees it available.
	availabilityMargin = 100 * time.Millisecond
)

// sync brings the ReplicaSet with the given key to its spec and writes its
// status. It returns how long until a ready pod becomes available, for a
// requeue then (0: no need).
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	r, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if r.selector == nil {
		c.log.Warn("invalid or empty selector, skipping", "kind", c.kind.gvk().Kind, "namespace", ns, "name", name)
		return 0, nil
	}
	needsSync := c.exp.Satisfied(key)
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return 0, err
	}
	pods, err := c.claimPods(ctx, r, activePods(all))
	if err != nil {
		return 0, err
	}
	var manageErr error
	if needsSync && r.meta.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, r, pods)
	}
	status, next := calculateStatus(r, pods, manageErr, c.now())
	if _, err := c.writeStatus(ctx, r, status); err != nil {
		return 0, err
	}
	if next > 0 {
		next += availabilityMargin
	}
	return next, manageErr
}

// manageReplicas creates or deletes pods so r has its desired number,
// at most burstReplicas in one go.
func (c *Controller) manageReplicas(ctx context.Context, key string, r *replicated, pods []*corev1.Pod) error {
	diff := len(pods) - int(r.replicas)
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		c.log.Debug("too few replicas", "kind", c.kind.gvk().Kind, "namespace", r.meta.Namespace, "name", r.meta.Name, "want", r.replicas, "creating", n)
		return c.createPods(ctx, key, r, n)
	case diff > 0:
		n := min(diff, c.burst)
		c.log.Debug("too many replicas", "kind", c.kind.gvk().Kind, "namespace", r.meta.Namespace, "name", r.meta.Name, "want", r.replicas, "deleting", n)
		return c.deletePods(ctx, key, r, podsToDelete(pods, c.relatedPods(r, pods), n, c.now()))
	}
	return nil
}

// createPods creates n pods in slow-start batches. The creates are expected
// before they are issued, so pod events racing the requests count; those
// that fail or are skipped are taken back.
func (c *Controller) createPods(ctx context.Context, key string, r *replicated, n int) error {
	c.exp.ExpectCreations(key, n)
	ref := metav1.NewControllerRef(r.meta, c.kind.gvk())
	created, err := slowStart(n, slowStartInitialBatch, func() error { return c.createPod(ctx, r, ref) })
	if skipped := n - created; skipped > 0 {
		c.exp.CreationsObserved(key, skipped)
	}
	return err
}

// createPod creates one pod from r's template. A namespace being deleted
// refuses all creates; that is not a failure of r's.
func (c *Controller) createPod(ctx context.Context, r *replicated, ref *metav1.OwnerReference) error {
	if r.template == nil {
		return errNoTemplate
	}
	pod := podFromTemplate(r.template, r.meta.Namespace, r.meta.Name, ref)
	if len(pod.Labels) == 0 {
		return errNoLabels
	}
	created, err := c.client.CoreV1().Pods(r.meta.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		c.recorder.Eventf(r.orig, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod: %w", err)
	}
	c.recorder.Eventf(r.orig, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return nil
}

// deletePods deletes the given pods in parallel with the default grace
// period and returns the first error other than NotFound.
func (c *Controller) deletePods(ctx context.Context, key string, r *replicated, victims []*corev1.Pod) error {
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
			if err := c.deletePod(ctx, r, p); err != nil {
				c.exp.DeletionObserved(key, podKey(p))
				if !apierrors.IsNotFound(err) {
					errs[i] = err
				}
			}
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

func (c *Controller) deletePod(ctx context.Context, r *replicated, p *corev1.Pod) error {
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return err
	case err != nil:
		c.recorder.Eventf(r.orig, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	c.recorder.Eventf(r.orig, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
	return nil
}

// relatedPods returns the active pods that count when ranking r's pods by
// crowding: those of every ReplicaSet sharing r's controller (the
// ReplicaSets of one Deployment), or r's own pods if it has none.
func (c *Controller) relatedPods(r *replicated, own []*corev1.Pod) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(r.meta)
	if ref == nil {
		return own
	}
	siblings, err := c.kind.list(r.meta.Namespace)
	if err != nil {
		return own
	}
	seen := map[types.UID]bool{}
	var out []*corev1.Pod
	for _, s := range siblings {
		if sref := metav1.GetControllerOfNoCopy(s.meta); sref == nil || sref.UID != ref.UID || s.selector == nil {
			continue
		}
		pods, err := c.pods.Pods(r.meta.Namespace).List(s.selector)
		if err != nil {
			continue
		}
		for _, p := range pods {
			if !seen[p.UID] {
				seen[p.UID] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// slowStart calls fn count times in batches of 1, 2, 4, ... (from
// initial), the calls of a batch in parallel, and stops after the first
// batch with a failure: when every create fails alike (a quota, a bad
// template) only a few requests and events are wasted. It returns the
// number of successful calls and the first error.
func slowStart(count, initial int, fn func() error) (int, error) {
	done := 0
	for batch := min(count, initial); batch > 0; batch = min(2*batch, count-done) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := len(errs)
		done += batch - failed
		if failed > 0 {
			return done, <-errs
		}
	}
	return done, nil
}
