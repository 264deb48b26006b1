package endpointslice

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

// sync makes the slices of the service key names match its pods. The
// slices of a service that is gone, lost its selector or became an
// ExternalName are deleted.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this controller queued
	}
	existing, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: managedBy,
	}))
	if err != nil {
		return fmt.Errorf("endpointslice: list slices of %s: %w", key, err)
	}
	if c.tracker.stale(key, existing) {
		return errStale
	}
	slices.SortFunc(existing, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.Forget(key)
		return c.apply(ctx, key, nil, plan{delete: existing}, time.Time{})
	}
	if err != nil {
		return fmt.Errorf("endpointslice: get service %s: %w", key, err)
	}
	if !endpointutil.Managed(svc) {
		return c.apply(ctx, key, svc, plan{delete: existing}, time.Time{})
	}
	pods, err := c.pods.Pods(ns).List(endpointutil.Selector(svc))
	if err != nil {
		return fmt.Errorf("endpointslice: list pods of %s: %w", key, err)
	}
	types := addressTypes(svc)
	want, missing, err := c.desired(svc, pods, types)
	if err != nil {
		return err
	}
	trigger, commit := c.triggers.Observe(key, svc, pods)
	err = c.apply(ctx, key, svc, c.plan(svc, types, existing, want), trigger)
	if err == nil {
		commit()
	}
	if len(missing) > 0 {
		// Retried until the cache knows the nodes.
		err = errors.Join(err, fmt.Errorf("%w: pods %s", errNodeNotFound, strings.Join(missing, ", ")))
	}
	if err != nil && !apierrors.IsConflict(err) {
		c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s/%s: %v", ns, name, err)
	}
	return err
}

// plan returns the writes that make the existing slices hold want. Slices
// the service does not control, or of an address type it no longer has,
// are deleted.
func (c *Controller) plan(svc *corev1.Service, types []discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, want desiredState) plan {
	var p plan
	byType := map[discoveryv1.AddressType][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		if !ownedBy(s, svc) || !slices.Contains(types, s.AddressType) {
			p.delete = append(p.delete, s)
			continue
		}
		byType[s.AddressType] = append(byType[s.AddressType], s)
	}
	pl := newPlanner(svc, c.max)
	for _, t := range types {
		p.add(pl.planType(t, byType[t], want[t]))
	}
	return p
}

// apply writes p: creates first (none for a service being deleted, which
// the garbage collector is about to clean up), then updates, then deletes,
// so that endpoints move between slices without disappearing. svc is nil
// when the service is gone.
func (c *Controller) apply(ctx context.Context, key string, svc *corev1.Service, p plan, trigger time.Time) error {
	api := c.client.DiscoveryV1().EndpointSlices(namespaceOf(key))
	if svc != nil && svc.DeletionTimestamp == nil {
		for _, s := range p.create {
			setTrigger(s, trigger)
			got, err := api.Create(ctx, s, metav1.CreateOptions{})
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // creates keep failing until the namespace is gone
			}
			if err != nil {
				return fmt.Errorf("endpointslice: create slice of %s: %w", key, err)
			}
			c.tracker.wrote(key, got)
		}
	}
	for _, s := range p.update {
		setTrigger(s, trigger)
		got, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("endpointslice: update %s of %s: %w", s.Name, key, err)
		}
		c.tracker.wrote(key, got)
	}
	for _, s := range p.delete {
		var opts metav1.DeleteOptions
		if s.UID != "" { // not one replaced since the cache saw it
			opts.Preconditions = &metav1.Preconditions{UID: &s.UID}
		}
		err := api.Delete(ctx, s.Name, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("endpointslice: delete %s of %s: %w", s.Name, key, err)
		}
		c.tracker.deleting(key, s.Name)
	}
	return nil
}

func namespaceOf(key string) string {
	ns, _, _ := cache.SplitMetaNamespaceKey(key)
	return ns
}

func setTrigger(s *discoveryv1.EndpointSlice, ts time.Time) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	endpointutil.SetTriggerTime(s.Annotations, ts)
}
