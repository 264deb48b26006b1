package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

var jobKind = batchv1.SchemeGroupVersion.WithKind("Job")

// claimPods returns the pods the Job controls, adopting the running
// orphans its selector matches (with the tracking finalizer) and
// releasing the pods it controls whose labels no longer match.
func (c *Controller) claimPods(ctx context.Context, j *batchv1.Job, sel labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(j.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	canAdopt := sync.OnceValue(func() error { return c.canAdopt(ctx, j) })
	var out []*corev1.Pod
	var errs []error
	for _, p := range all {
		match := sel.Matches(labels.Set(p.Labels))
		ref := metav1.GetControllerOfNoCopy(p)
		switch {
		case ref != nil && ref.UID == j.UID && (match || j.DeletionTimestamp != nil):
			out = append(out, p)
		case ref != nil && ref.UID == j.UID:
			errs = append(errs, c.release(ctx, j, p))
		case ref == nil && match && j.DeletionTimestamp == nil && isActive(p):
			if err := canAdopt(); err != nil {
				return out, err
			}
			adopted, err := c.adopt(ctx, j, p)
			if err != nil {
				errs = append(errs, err)
			} else if adopted != nil {
				out = append(out, adopted)
			}
		}
	}
	return out, errors.Join(errs...)
}

// canAdopt reads the Job from the API server before the first adoption of
// a sync: a Job deleted or replaced since the cache saw it must not take
// pods.
func (c *Controller) canAdopt(ctx context.Context, j *batchv1.Job) error {
	fresh, err := c.client.BatchV1().Jobs(j.Namespace).Get(ctx, j.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get job: %w", err)
	}
	if fresh.UID != j.UID || fresh.DeletionTimestamp != nil {
		return fmt.Errorf("%w: %s/%s", errGone, j.Namespace, j.Name)
	}
	return nil
}

// adopt makes the Job the controller of the orphan p and gives it the
// tracking finalizer; the pod's UID in the patch makes it fail if the pod
// was replaced by one of the same name. It returns the adopted pod, or nil
// if it is gone.
func (c *Controller) adopt(ctx context.Context, j *batchv1.Job, p *corev1.Pod) (*corev1.Pod, error) {
	finalizers := p.Finalizers
	if !hasTracking(p) {
		finalizers = append(slices.Clone(finalizers), batchv1.JobTrackingFinalizer)
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*metav1.NewControllerRef(j, jobKind)},
		"finalizers":      finalizers,
		"uid":             p.UID,
	}})
	if err != nil {
		return nil, fmt.Errorf("owner patch: %w", err)
	}
	adopted, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.log.Info("adopted pod", "namespace", j.Namespace, "job", j.Name, "pod", p.Name)
	return adopted, nil
}

// release removes the Job's owner reference from p; the orphan then loses
// its tracking finalizer (see syncOrphan). A pod that is gone, or whose
// UID changed meanwhile, needs no release.
func (c *Controller) release(ctx context.Context, j *batchv1.Job, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": j.UID}},
		"uid":             p.UID,
	}})
	if err != nil {
		return fmt.Errorf("release patch: %w", err)
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		return fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}
