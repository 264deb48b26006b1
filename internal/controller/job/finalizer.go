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
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer of pod %s: %w", p.Name, err)
	}
	return nil
}
