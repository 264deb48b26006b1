package daemonset

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

// podsByNode returns ds's pods grouped by the node they run on or are
// pinned to, after adopting the orphans its selector matches. Pods both
// terminal and being deleted are left out: they are gone for all purposes.
func (c *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (map[string][]*corev1.Pod, error) {
	all, err := c.pods.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	canAdopt := sync.OnceValue(func() error { return c.canAdopt(ctx, ds) })
	out := map[string][]*corev1.Pod{}
	var errs []error
	for _, p := range all {
		ok, err := c.claimPod(ctx, ds, sel, p, canAdopt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok || (p.DeletionTimestamp != nil && isTerminal(p)) {
			continue
		}
		node := pinnedNode(p)
		out[node] = append(out[node], p)
	}
	return out, errors.Join(errs...)
}

// claimPod says whether ds controls p, adopting p if it is an orphan that
// ds's selector matches and releasing it if ds controls it but its labels
// no longer match.
func (c *Controller) claimPod(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector, p *corev1.Pod, canAdopt func() error) (bool, error) {
	match := sel.Matches(labels.Set(p.Labels))
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		switch {
		case ref.UID != ds.UID:
			return false, nil
		case match || ds.DeletionTimestamp != nil:
			return match, nil
		}
		return false, c.release(ctx, ds, p)
	}
	if !match || ds.DeletionTimestamp != nil || p.DeletionTimestamp != nil {
		return false, nil
	}
	if err := canAdopt(); err != nil {
		return false, fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if err := c.adopt(ctx, ds, p); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// canAdopt reads ds from the API server before the first adoption of a
// sync: a DaemonSet deleted or replaced since the cache saw it must not
// take pods.
func (c *Controller) canAdopt(ctx context.Context, ds *appsv1.DaemonSet) error {
	fresh, err := c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get daemonset: %w", err)
	}
	if fresh.UID != ds.UID || fresh.DeletionTimestamp != nil {
		return fmt.Errorf("%w: %s/%s", errGone, ds.Namespace, ds.Name)
	}
	return nil
}

// adopt makes ds the controller of the orphan p; the pod's UID in the
// patch makes it fail if the pod was replaced by one of the same name.
func (c *Controller) adopt(ctx context.Context, ds *appsv1.DaemonSet, p *corev1.Pod) error {
	patch, err := ownerPatch(ds, p.UID)
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("adopt pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.log.Info("adopted pod", "namespace", ds.Namespace, "daemonset", ds.Name, "pod", p.Name)
	return nil
}

func ownerPatch(ds *appsv1.DaemonSet, uid types.UID) ([]byte, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		"uid":             uid,
	}})
	if err != nil {
		return nil, fmt.Errorf("owner patch: %w", err)
	}
	return patch, nil
}

// release removes ds's owner reference from p. A pod that is gone, or
// whose UID or owner references changed meanwhile, needs no release.
func (c *Controller) release(ctx context.Context, ds *appsv1.DaemonSet, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": ds.UID}},
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
		c.log.Info("released pod", "namespace", ds.Namespace, "daemonset", ds.Name, "pod", p.Name)
	}
	return nil
}
