package replicaset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// claimPods returns the pods of pods that r controls after adopting the
// orphans its selector matches and releasing the pods it controls that its
// selector no longer matches. Pods controlled by others are left alone.
func (c *Controller) claimPods(ctx context.Context, r *replicated, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	canAdopt := sync.OnceValue(func() error { return c.canAdopt(ctx, r) })
	var claimed []*corev1.Pod
	var errs []error
	for _, p := range pods {
		ok, err := c.claimPod(ctx, r, p, canAdopt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, p)
		}
	}
	return claimed, errors.Join(errs...)
}

func (c *Controller) claimPod(ctx context.Context, r *replicated, p *corev1.Pod, canAdopt func() error) (bool, error) {
	match := r.selector != nil && r.selector.Matches(labels.Set(p.Labels))
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		switch {
		case ref.UID != r.meta.UID:
			return false, nil
		case match:
			return true, nil
		case r.meta.DeletionTimestamp != nil:
			return false, nil
		}
		return false, c.release(ctx, r, p)
	}
	if !match || r.meta.DeletionTimestamp != nil || p.DeletionTimestamp != nil || p.Namespace != r.meta.Namespace {
		return false, nil
	}
	if err := canAdopt(); err != nil {
		return false, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if err := c.adopt(ctx, r, p); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// canAdopt reads r from the API server, not the cache, before the first
// adoption of a sync: a ReplicaSet deleted (or replaced by one of the same
// name) since the cache saw it must not take pods.
func (c *Controller) canAdopt(ctx context.Context, r *replicated) error {
	fresh, err := c.kind.getLive(ctx, r.meta.Namespace, r.meta.Name)
	if err != nil {
		return err
	}
	if fresh.meta.UID != r.meta.UID {
		return fmt.Errorf("%w: %s %s/%s has uid %s, want %s", errGone, c.kind.gvk().Kind, r.meta.Namespace, r.meta.Name, fresh.meta.UID, r.meta.UID)
	}
	if fresh.meta.DeletionTimestamp != nil {
		return fmt.Errorf("%w: %s %s/%s is being deleted", errGone, c.kind.gvk().Kind, r.meta.Namespace, r.meta.Name)
	}
	return nil
}

// adopt makes r the controller of the orphan p. The pod's UID in the patch
// makes it fail if the pod was replaced by one of the same name.
func (c *Controller) adopt(ctx context.Context, r *replicated, p *corev1.Pod) error {
	ref := metav1.NewControllerRef(r.meta, c.kind.gvk())
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*ref},
		"uid":             p.UID,
	}})
	if err != nil {
		return fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.log.Info("adopted pod", "kind", c.kind.gvk().Kind, "namespace", r.meta.Namespace, "name", r.meta.Name, "pod", p.Name)
	return nil
}

// release removes r's owner reference from p. A pod that is gone, or whose
// UID or owner references changed meanwhile (Invalid), needs no release.
func (c *Controller) release(ctx context.Context, r *replicated, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": r.meta.UID}},
		"uid":             p.UID,
	}})
	if err != nil {
		return fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		return fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if err == nil {
		c.log.Info("released pod", "kind", c.kind.gvk().Kind, "namespace", r.meta.Namespace, "name", r.meta.Name, "pod", p.Name)
	}
	return nil
}
