package endpointslice

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
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

// onPodUpdate wakes the services whose slices the update may change.
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

// serviceKey returns the key of the service a slice belongs to.
func serviceKey(s *discoveryv1.EndpointSlice) (string, bool) {
	name := s.Labels[discoveryv1.LabelServiceName]
	return endpointutil.Key(s.Namespace, name), name != ""
}

func managed(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == managedBy
}

// onSliceAdd wakes the service of a managed slice the controller did not
// write, such as one left from before it started.
func (c *Controller) onSliceAdd(obj any) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || !managed(s) {
		return
	}
	if key, ok := serviceKey(s); ok && c.tracker.shouldSync(key, s) {
		c.queue.Add(key)
	}
}

// onSliceUpdate wakes the service of a managed slice someone else
// changed, and the services of a slice that changed hands.
func (c *Controller) onSliceUpdate(old, cur any) {
	o, ok := old.(*discoveryv1.EndpointSlice)
	s, ok2 := cur.(*discoveryv1.EndpointSlice)
	if !ok || !ok2 || o.ResourceVersion == s.ResourceVersion {
		return
	}
	oldKey, hadKey := serviceKey(o)
	key, hasKey := serviceKey(s)
	if managed(o) != managed(s) || oldKey != key {
		if hadKey && managed(o) {
			c.queue.Add(oldKey)
		}
		if hasKey {
			c.queue.Add(key)
		}
		return
	}
	if hasKey && managed(s) && c.tracker.shouldSync(key, s) {
		c.queue.Add(key)
	}
}

// onSliceDelete wakes the service of a managed slice the controller did
// not delete, to recreate it.
func (c *Controller) onSliceDelete(obj any) {
	s, ok := untomb(obj).(*discoveryv1.EndpointSlice)
	if !ok || !managed(s) {
		return
	}
	if key, ok := serviceKey(s); ok && c.tracker.deleted(key, s) {
		c.queue.Add(key)
	}
}
