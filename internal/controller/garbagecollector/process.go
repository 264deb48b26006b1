package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// errPending asks for a retry: dependents are still going away.
var errPending = errors.New("garbagecollector: dependents remain")

// process decides what to do with one object.
func (c *Collector) process(ctx context.Context, uid types.UID) error {
	n := c.graph.get(uid)
	if n == nil {
		return nil
	}
	if n.deleting {
		switch {
		case n.hasFinalizer(metav1.FinalizerOrphanDependents):
			return c.orphan(ctx, n)
		case n.hasFinalizer(metav1.FinalizerDeleteDependents):
			return c.foreground(ctx, n)
		}
	}
	if len(n.owners) == 0 {
		return nil
	}
	return c.checkOwners(ctx, n)
}

// ownerState is what became of one owner.
type ownerState int

const (
	ownerPresent ownerState = iota
	ownerAbsent
	// ownerWaiting: being deleted in the foreground, waiting for us.
	ownerWaiting
	// ownerDeleting: being deleted otherwise; dependents follow.
	ownerDeleting
)

func (c *Collector) checkOwners(ctx context.Context, n *node) error {
	var solid, dangling, waiting []metav1.OwnerReference
	for _, ref := range n.owners {
		st, err := c.ownerState(ctx, n, ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerPresent:
			solid = append(solid, ref)
		case ownerAbsent, ownerDeleting:
			dangling = append(dangling, ref)
		case ownerWaiting:
			waiting = append(waiting, ref)
		}
	}
	switch {
	case len(solid) > 0 && len(dangling)+len(waiting) > 0:
		// Keep the object for its living owners; drop references to the dead.
		return c.setOwners(ctx, n, solid)
	case len(solid) > 0:
		return nil
	case len(waiting) > 0 && blocks(waiting):
		return c.delete(ctx, n, metav1.DeletePropagationForeground)
	default:
		return c.delete(ctx, n, metav1.DeletePropagationBackground)
	}
}

func blocks(refs []metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// ownerState looks an owner up in the graph, and asks the API server when
// the graph does not know it (informers of different resources lag).
func (c *Collector) ownerState(ctx context.Context, n *node, ref metav1.OwnerReference) (ownerState, error) {
	if o := c.graph.get(ref.UID); o != nil {
		return stateOf(o.deleting, o.finalizers), nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ownerAbsent, nil
	}
	mapping, err := c.mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if err != nil {
		return ownerAbsent, nil //nolint:nilerr // an unknown kind owns nothing
	}
	ns := n.namespace
	if mapping.Scope.Name() != "namespace" {
		ns = ""
	}
	obj, err := c.md.Resource(mapping.Resource).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ownerAbsent, nil
	}
	if err != nil {
		return ownerPresent, fmt.Errorf("get owner %s %s: %w", ref.Kind, ref.Name, err)
	}
	if obj.UID != ref.UID {
		return ownerAbsent, nil
	}
	return stateOf(obj.DeletionTimestamp != nil, obj.Finalizers), nil
}

func stateOf(deleting bool, finalizers []string) ownerState {
	if !deleting {
		return ownerPresent
	}
	for _, f := range finalizers {
		if f == metav1.FinalizerDeleteDependents {
			return ownerWaiting
		}
		if f == metav1.FinalizerOrphanDependents {
			return ownerPresent // its dependents are being orphaned, not deleted
		}
	}
	return ownerDeleting
}

func (c *Collector) delete(ctx context.Context, n *node, policy metav1.DeletionPropagation) error {
	if n.deleting {
		return nil
	}
	uid := n.uid
	err := c.md.Resource(n.gvr).Namespace(n.namespace).Delete(ctx, n.name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &policy,
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.log.Debug("deleted", "resource", n.gvr.Resource, "namespace", n.namespace, "name", n.name, "propagation", policy)
	}
	return err
}

// orphan removes owner's references from its dependents, then its orphan
// finalizer.
func (c *Collector) orphan(ctx context.Context, owner *node) error {
	for _, d := range c.graph.dependentsOf(owner.uid) {
		var keep []metav1.OwnerReference
		for _, r := range d.owners {
			if r.UID != owner.uid {
				keep = append(keep, r)
			}
		}
		if err := c.setOwners(ctx, d, keep); err != nil {
			return err
		}
	}
	return c.removeFinalizer(ctx, owner, metav1.FinalizerOrphanDependents)
}

// foreground deletes owner's dependents and lets the owner go once none
// that block it is left.
func (c *Collector) foreground(ctx context.Context, owner *node) error {
	blocking := 0
	for _, d := range c.graph.dependentsOf(owner.uid) {
		for _, r := range d.owners {
			if r.UID == owner.uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				blocking++
			}
		}
		if !d.deleting {
			c.queue.Add(d.uid)
		}
	}
	if blocking > 0 {
		return errPending
	}
	return c.removeFinalizer(ctx, owner, metav1.FinalizerDeleteDependents)
}

// setOwners replaces an object's owner references, guarded by its UID.
func (c *Collector) setOwners(ctx context.Context, n *node, refs []metav1.OwnerReference) error {
	if refs == nil {
		refs = []metav1.OwnerReference{}
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"ownerReferences": refs, "uid": n.uid}})
	if err != nil {
		return err
	}
	_, err = c.md.Resource(n.gvr).Namespace(n.namespace).Patch(ctx, n.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// removeFinalizer drops one finalizer, guarded by the resourceVersion seen.
func (c *Collector) removeFinalizer(ctx context.Context, n *node, f string) error {
	keep := []string{}
	for _, x := range n.finalizers {
		if x != f {
			keep = append(keep, x)
		}
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"finalizers": keep, "resourceVersion": n.resourceVersion, "uid": n.uid,
	}})
	if err != nil {
		return err
	}
	_, err = c.md.Resource(n.gvr).Namespace(n.namespace).Patch(ctx, n.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
