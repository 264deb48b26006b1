package endpoint

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

// sync makes the Endpoints of the service key names match its pods, or
// deletes them when the service is gone.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // not a key this controller queued
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.deleteEndpoints(ctx, key, ns, name)
	}
	if err != nil {
		return fmt.Errorf("endpoint: get service %s: %w", key, err)
	}
	if !endpointutil.Managed(svc) {
		return nil
	}
	pods, err := c.pods.Pods(ns).List(endpointutil.Selector(svc))
	if err != nil {
		return fmt.Errorf("endpoint: list pods of %s: %w", key, err)
	}
	cur, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		cur = nil
	} else if err != nil {
		return fmt.Errorf("endpoint: get endpoints %s: %w", key, err)
	}
	if c.stale.isStale(key, cur) {
		return errStale
	}
	subsets, over := truncate(buildSubsets(svc, pods), maxCapacity)
	trigger, commit := c.triggers.Observe(key, svc, pods)
	if cur != nil && upToDate(cur, svc, subsets, over) {
		commit()
		return nil
	}
	if cur == nil && svc.DeletionTimestamp != nil {
		return nil // being deleted: nothing to create
	}
	if err := c.write(ctx, cur, desired(svc, cur, subsets, over, trigger)); err != nil {
		return err
	}
	commit()
	return nil
}

// deleteEndpoints deletes the Endpoints of a service that is gone.
func (c *Controller) deleteEndpoints(ctx context.Context, key, ns, name string) error {
	c.triggers.Forget(key)
	err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("endpoint: delete %s: %w", key, err)
	}
	return nil
}

// write creates ep, or updates it over cur.
func (c *Controller) write(ctx context.Context, cur, ep *corev1.Endpoints) error {
	api := c.client.CoreV1().Endpoints(ep.Namespace)
	var err error
	verb, reason := "update", "FailedToUpdateEndpoint"
	if cur == nil {
		verb, reason = "create", "FailedToCreateEndpoint"
		_, err = api.Create(ctx, ep, metav1.CreateOptions{})
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil // creates keep failing until the namespace is gone
		}
	} else {
		_, err = api.Update(ctx, ep, metav1.UpdateOptions{})
	}
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			c.recorder.Eventf(ep, corev1.EventTypeWarning, reason, "Failed to %s endpoint %s/%s: %v", verb, ep.Namespace, ep.Name, err)
		}
		return fmt.Errorf("endpoint: %s %s/%s: %w", verb, ep.Namespace, ep.Name, err)
	}
	c.stale.wrote(endpointutil.Key(ep.Namespace, ep.Name), cur)
	return nil
}

// labelsFor returns the labels of the service's Endpoints: the service's,
// plus the headless label for a headless service.
func labelsFor(svc *corev1.Service) map[string]string {
	out := maps.Clone(svc.Labels)
	if out == nil {
		out = map[string]string{}
	}
	if endpointutil.Headless(svc) {
		out[corev1.IsHeadlessService] = ""
	} else {
		delete(out, corev1.IsHeadlessService)
	}
	return out
}

// upToDate reports whether cur already has the subsets, labels and
// over-capacity annotation a sync would write.
func upToDate(cur *corev1.Endpoints, svc *corev1.Service, subsets []corev1.EndpointSubset, over bool) bool {
	v, has := cur.Annotations[corev1.EndpointsOverCapacity]
	if over != has || (over && v != truncated) {
		return false
	}
	return maps.Equal(cur.Labels, labelsFor(svc)) && equality.Semantic.DeepEqual(cur.Subsets, subsets)
}

// desired returns the Endpoints to write: cur's metadata (or a new
// object's) with the subsets, labels and annotations of this sync.
func desired(svc *corev1.Service, cur *corev1.Endpoints, subsets []corev1.EndpointSubset, over bool, trigger time.Time) *corev1.Endpoints {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	if cur != nil {
		cur.ObjectMeta.DeepCopyInto(&ep.ObjectMeta)
	}
	ep.Subsets = subsets
	ep.Labels = labelsFor(svc)
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	endpointutil.SetTriggerTime(ep.Annotations, trigger)
	if over {
		ep.Annotations[corev1.EndpointsOverCapacity] = truncated
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	return ep
}
