package job

import (
	"context"
	"fmt"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// removeFinalizerPatch is a strategic merge patch that drops the tracking
// finalizer and keeps every other.
var removeFinalizerPatch = []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["` + batchv1.JobTrackingFinalizer + `"]}}`)

// releasedPods remembers the pods whose finalizer removal was issued
// and not yet seen in the cache. Such a pod was counted already; until the
// cache shows it without the finalizer a sync must not count it again.
type releasedPods struct {
	mu   sync.Mutex
	uids map[types.UID]struct{}
}

func newReleasedPods() *releasedPods { return &releasedPods{uids: map[types.UID]struct{}{}} }

func (r *releasedPods) add(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uids[uid] = struct{}{}
}

func (r *releasedPods) has(uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.uids[uid]
	return ok
}

func (r *releasedPods) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.uids, uid)
}

// observe forgets a pod once the cache shows it without the finalizer.
func (r *releasedPods) observe(p *corev1.Pod, gone bool) {
	if gone || !hasTracking(p) {
		r.forget(p.UID)
	}
}

// removeFinalizers removes the tracking finalizer from those of the pods
// that have it, in parallel; a pod already gone is no error.
func (c *Controller) removeFinalizers(ctx context.Context, pods []*corev1.Pod) error {
	var todo []*corev1.Pod
	for _, p := range pods {
		if hasTracking(p) {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, p := range todo[:min(len(todo), maxPodsPerSync)] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.removeFinalizer(ctx, p)
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

func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	c.released.add(p.UID)
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
	if err != nil {
		c.released.forget(p.UID)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of pod %s: %w", p.Name, err)
	}
	return nil
}
