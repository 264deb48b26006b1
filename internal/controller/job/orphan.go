package job

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// orphanPrefix marks queue keys of pods that hold the tracking finalizer
// without a Job to count them: "orphan-pod:namespace/name".
const orphanPrefix = "orphan-pod:"

// checkOrphan queues a pod that carries the tracking finalizer but whose
// Job is not in the cache, so that the finalizer does not keep it forever
// (after a Job was deleted, say, or the pod released).
func (c *Controller) checkOrphan(p *corev1.Pod) {
	if hasTracking(p) {
		c.queue.Add(orphanPrefix + podKey(p))
	}
}

// syncOrphan removes the tracking finalizer from the pod if, on a live
// look, no Job controls it.
func (c *Controller) syncOrphan(ctx context.Context, key string) error {
	ns, name, ok := strings.Cut(strings.TrimPrefix(key, orphanPrefix), "/")
	if !ok {
		return nil
	}
	p, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod: %w", err)
	}
	if !hasTracking(p) || c.resolve(p) != nil {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == "Job" {
		j, err := c.client.BatchV1().Jobs(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case err == nil && j.UID == ref.UID:
			return nil // the cache lags: the Job's own sync counts the pod
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("get job of orphan: %w", err)
		}
	}
	return c.removeFinalizer(ctx, p)
}
