package endpoint

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

func untomb(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

func (c *Controller) enqueue(keys []string) {
	for _, k := range keys {
		c.queue.Add(k)
	}
}

func (c *Controller) onServiceAdd(obj any) {
	if svc, ok := obj.(*corev1.Service); ok {
		c.selectors.Set(svc)
		c.queue.Add(endpointutil.Key(svc.Namespace, svc.Name))
	}
}

func (c *Controller) onServiceUpdate(_, cur any) { c.onServiceAdd(cur) }

func (c *Controller) onServiceDelete(obj any) {
	if svc, ok := untomb(obj).(*corev1.Service); ok {
		c.selectors.Delete(svc.Namespace, svc.Name)
		c.queue.Add(endpointutil.Key(svc.Namespace, svc.Name))
	}
}

// onPodAdd wakes the services selecting the pod.
func (c *Controller) onPodAdd(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		c.enqueue(c.selectors.ForPod(p))
	}
}

// onPodUpdate wakes the services whose endpoints the update may change.
func (c *Controller) onPodUpdate(old, cur any) {
	o, ok := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if ok && ok2 {
		c.enqueue(c.selectors.ForPodUpdate(o, p))
	}
}

// onPodDelete wakes the services that selected the pod.
func (c *Controller) onPodDelete(obj any) {
	if p, ok := untomb(obj).(*corev1.Pod); ok {
		c.enqueue(c.selectors.ForPod(p))
	}
}

// onEndpointsUpdate wakes the service of Endpoints changed by someone
// else (or by the last sync, which then finds nothing to do), so that a
// managed service's Endpoints are put back.
func (c *Controller) onEndpointsUpdate(old, cur any) {
	o, ok := old.(*corev1.Endpoints)
	ep, ok2 := cur.(*corev1.Endpoints)
	if !ok || !ok2 || o.ResourceVersion == ep.ResourceVersion {
		return
	}
	c.queue.Add(endpointutil.Key(ep.Namespace, ep.Name))
}

// onEndpointsDelete wakes the service, whose Endpoints are recreated if
// it manages them.
func (c *Controller) onEndpointsDelete(obj any) {
	if ep, ok := untomb(obj).(*corev1.Endpoints); ok {
		key := endpointutil.Key(ep.Namespace, ep.Name)
		c.stale.forget(key)
		c.queue.Add(key)
	}
}
