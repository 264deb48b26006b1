package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// claimReplicaSets returns the ReplicaSets d controls, after adopting the
// orphans its selector matches and releasing the ones it controls but no
// longer selects (as Kubernetes' ControllerRefManager).
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %w", d.Namespace, d.Name, err)
	}
	cl := &claimer{c: c, d: d, sel: sel}
	var owned []*appsv1.ReplicaSet
	var errs []error
	for _, rs := range all {
		got, err := cl.claim(ctx, rs)
		if err != nil {
			errs = append(errs, err)
		} else if got != nil {
			owned = append(owned, got)
		}
	}
	return owned, errors.Join(errs...)
}

// ownedReplicaSets lists, without adopting or releasing, the ReplicaSets
// d controls and selects.
func (c *Controller) ownedReplicaSets(d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(sel)
	if err != nil {
		return nil, err
	}
	var owned []*appsv1.ReplicaSet
	for _, rs := range all {
		if metav1.IsControlledBy(rs, d) {
			owned = append(owned, rs)
		}
	}
	return owned, nil
}

type claimer struct {
	c        *Controller
	d        *appsv1.Deployment
	sel      labels.Selector
	checked  bool // the uncached deletion check ran
	canAdopt error
}

// claim returns rs (or its adopted copy) if d controls it now, nil if not.
func (cl *claimer) claim(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	match := cl.sel.Matches(labels.Set(rs.Labels))
	if ref := metav1.GetControllerOf(rs); ref != nil {
		switch {
		case ref.UID != cl.d.UID:
			return nil, nil // someone else's
		case match:
			return rs, nil
		case cl.d.DeletionTimestamp != nil:
			return nil, nil
		}
		return nil, cl.release(ctx, rs)
	}
	if !match || cl.d.DeletionTimestamp != nil || rs.DeletionTimestamp != nil {
		return nil, nil
	}
	return cl.adopt(ctx, rs)
}

// adopt makes d the controller of an orphan, once an uncached read showed
// that d is not being deleted (it could have been since the cache saw it).
func (cl *claimer) adopt(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	if !cl.checked {
		cl.checked = true
		cl.canAdopt = cl.recheckDeletion(ctx)
	}
	if cl.canAdopt != nil {
		return nil, fmt.Errorf("cannot adopt ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, cl.canAdopt)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{{
			APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind,
			Name: cl.d.Name, UID: cl.d.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}},
		"uid": rs.UID,
	}})
	out, err := cl.c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopt ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return out, nil
}

func (cl *claimer) recheckDeletion(ctx context.Context) error {
	fresh, err := cl.c.client.AppsV1().Deployments(cl.d.Namespace).Get(ctx, cl.d.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if fresh.UID != cl.d.UID {
		return fmt.Errorf("original Deployment %s/%s is gone: got uid %s, wanted %s", cl.d.Namespace, cl.d.Name, fresh.UID, cl.d.UID)
	}
	if fresh.DeletionTimestamp != nil {
		return fmt.Errorf("%s/%s has just been deleted at %v", cl.d.Namespace, cl.d.Name, fresh.DeletionTimestamp)
	}
	return nil
}

// release removes d's owner reference from a ReplicaSet it no longer
// selects.
func (cl *claimer) release(ctx context.Context, rs *appsv1.ReplicaSet) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": cl.d.UID}},
		"uid":             rs.UID,
	}})
	_, err := cl.c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	// Not found: gone already; invalid: the reference or the UID changed.
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
		return nil
	}
	return fmt.Errorf("release ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
}

// podsByReplicaSet groups the pods d selects by the ReplicaSet of rsList
// that controls them. Terminated pods are kept: Recreate waits for old pods
// to stop, not to be deleted. The pods are the cache's own.
func (c *Controller) podsByReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := c.podLister.Pods(d.Namespace).List(sel)
	if err != nil {
		return nil, err
	}
	m := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		m[rs.UID] = nil
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, ok := m[ref.UID]; ok {
			m[ref.UID] = append(m[ref.UID], p)
		}
	}
	return m, nil
}
