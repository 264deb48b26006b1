package job

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cleanupFinished deletes a finished Job once its ttlSecondsAfterFinished
// has passed (with its pods, in the foreground), or returns how long
// until then.
func (c *Controller) cleanupFinished(ctx context.Context, j *batchv1.Job) (time.Duration, error) {
	if pods, err := c.ownedPods(j); err == nil {
		if err := c.removeFinalizers(ctx, pods); err != nil {
			return 0, err
		}
	}
	if j.Spec.TTLSecondsAfterFinished == nil || j.DeletionTimestamp != nil {
		return 0, nil
	}
	at := finished(j).LastTransitionTime.Time
	if j.Status.CompletionTime != nil {
		at = j.Status.CompletionTime.Time
	}
	expire := at.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	if wait := expire.Sub(c.now()); wait > 0 {
		return wait, nil
	}
	policy := metav1.DeletePropagationForeground
	err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &j.UID}, PropagationPolicy: &policy,
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return 0, fmt.Errorf("delete finished job %s: %w", j.Name, err)
	}
	c.log.Info("deleted finished job", "namespace", j.Namespace, "name", j.Name)
	return 0, nil
}
