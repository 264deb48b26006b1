package replicaset

import (
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

func (c *Controller) onAdd(obj any) {
	if r, ok := c.kind.view(obj); ok {
		c.queue.Add(keyOf(r.meta))
	}
}

func (c *Controller) onUpdate(old, cur any) {
	o, ok := c.kind.view(old)
	n, ok2 := c.kind.view(cur)
	if !ok || !ok2 {
		return
	}
	if o.meta.UID != n.meta.UID {
		// Deleted and created again between two looks of the informer.
		c.onDelete(cache.DeletedFinalStateUnknown{Key: keyOf(o.meta), Obj: old})
	}
	c.queue.Add(keyOf(n.meta))
}

func (c *Controller) onDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	r, ok := c.kind.view(obj)
	if !ok {
		return
	}
	key := keyOf(r.meta)
	// A new object of the same name starts without expectations.
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onPodAdd wakes the pod's controller, counting the pod as one of the
// creates it waits for, or, for an orphan, every ReplicaSet that might
// adopt it.
func (c *Controller) onPodAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.DeletionTimestamp != nil {
		// Seen for the first time already going (after a restart):
		// not a create anyone waits for.
		c.onPodDelete(p)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if r := c.resolve(p.Namespace, ref); r != nil {
			key := keyOf(r.meta)
			c.exp.CreationsObserved(key, 1)
			c.queue.Add(key)
		}
		return
	}
	for _, r := range c.selecting(p) {
		c.queue.Add(keyOf(r.meta))
	}
}

// onPodUpdate wakes the pod's controller, and its former controller if
// that changed; for an orphan whose labels or owner changed, every
// ReplicaSet that might adopt it. A pod given a deletion timestamp counts
// as deleted at once, so a replacement is made during its grace period.
func (c *Controller) onPodUpdate(old, cur any) {
	o, ok := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok || !ok2 || (p.ResourceVersion != "" && p.ResourceVersion == o.ResourceVersion) {
		return // a resync: nothing changed
	}
	labelsChanged := !maps.Equal(o.Labels, p.Labels)
	if p.DeletionTimestamp != nil {
		c.onPodDelete(p)
		if labelsChanged {
			c.onPodDelete(o)
		}
		return
	}
	ref, oldRef := metav1.GetControllerOfNoCopy(p), metav1.GetControllerOfNoCopy(o)
	refChanged := !reflect.DeepEqual(ref, oldRef)
	if refChanged && oldRef != nil {
		if r := c.resolve(o.Namespace, oldRef); r != nil {
			c.queue.Add(keyOf(r.meta))
		}
	}
	if ref != nil {
		if r := c.resolve(p.Namespace, ref); r != nil {
			c.queue.Add(keyOf(r.meta))
		}
		return
	}
	if labelsChanged || refChanged {
		for _, r := range c.selecting(p) {
			c.queue.Add(keyOf(r.meta))
		}
	}
}

// onPodDelete wakes the pod's controller and counts the deletion it may
// wait for. Orphans concern nobody.
func (c *Controller) onPodDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil {
		return
	}
	if r := c.resolve(p.Namespace, ref); r != nil {
		key := keyOf(r.meta)
		c.exp.DeletionObserved(key, podKey(p))
		c.queue.Add(key)
	}
}

// resolve returns the object of this controller's kind that ref points to,
// or nil if there is none in the cache with that UID.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *replicated {
	if ref.Kind != c.kind.gvk().Kind {
		return nil
	}
	r, err := c.kind.get(namespace, ref.Name)
	if err != nil || r.meta.UID != ref.UID {
		return nil
	}
	return r
}

// selecting returns the objects whose selector matches the pod's labels.
// More than one is a user error; the first to claim the pod wins.
func (c *Controller) selecting(p *corev1.Pod) []*replicated {
	all, err := c.kind.list(p.Namespace)
	if err != nil {
		return nil
	}
	var out []*replicated
	for _, r := range all {
		if r.selector != nil && r.selector.Matches(labels.Set(p.Labels)) {
			out = append(out, r)
		}
	}
	if len(out) > 1 {
		c.log.Debug("pod selected by more than one controller", "namespace", p.Namespace, "pod", p.Name, "count", len(out))
	}
	return out
}
