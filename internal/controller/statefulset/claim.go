package statefulset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// claimPods returns the pods set controls, after adopting the orphans it
// should own and releasing those it should not. A pod belongs to set when
// the selector matches it and its name is <set>-<ordinal>.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	canAdopt := sync.OnceValue(func() error { return c.canAdopt(ctx, set) })
	var out []*corev1.Pod
	var errs []error
	for _, p := range all {
		ok, err := c.claimPod(ctx, set, sel, p, canAdopt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, errors.Join(errs...)
}

// claimPod says whether set controls p, adopting p if it is an orphan set
// should own and releasing it if set controls it but it no longer matches.
func (c *Controller) claimPod(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector, p *corev1.Pod, canAdopt func() error) (bool, error) {
	match := sel.Matches(labels.Set(p.Labels)) && isMember(set, p)
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		switch {
		case ref.UID != set.UID:
			return false, nil
		case match || set.DeletionTimestamp != nil:
			return match, nil
		}
		return false, c.release(ctx, set, p)
	}
	if !match || set.DeletionTimestamp != nil || p.DeletionTimestamp != nil {
		return false, nil
	}
	if err := canAdopt(); err != nil {
		return false, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	patch, err := ownerPatch(set, p.UID)
	if err != nil {
		return false, err
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.log.Info("adopted pod", "namespace", set.Namespace, "statefulset", set.Name, "pod", p.Name)
	return true, nil
}

// canAdopt reads set from the API server before the first adoption of a
// sync: a StatefulSet deleted or replaced since the cache saw it must not
// take pods.
func (c *Controller) canAdopt(ctx context.Context, set *appsv1.StatefulSet) error {
	fresh, err := c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get statefulset: %w", err)
	}
	if fresh.UID != set.UID || fresh.DeletionTimestamp != nil {
		return fmt.Errorf("%w: %s/%s", errGone, set.Namespace, set.Name)
	}
	return nil
}

// ownerPatch makes set the controller of an object; the object's UID in
// the patch makes it fail if the object was replaced by one of the same
// name.
func ownerPatch(set *appsv1.StatefulSet, uid types.UID) ([]byte, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		"uid":             uid,
	}})
	if err != nil {
		return nil, fmt.Errorf("owner patch: %w", err)
	}
	return patch, nil
}

// release removes set's owner reference from p. A pod that is gone, or
// whose UID or owner references changed meanwhile, needs no release.
func (c *Controller) release(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": set.UID}},
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
		c.log.Info("released pod", "namespace", set.Namespace, "statefulset", set.Name, "pod", p.Name)
	}
	return nil
}
