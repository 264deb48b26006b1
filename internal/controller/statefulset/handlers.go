package statefulset

import (
	"maps"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

func untomb(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

func (c *Controller) onAdd(obj any) {
	if set, ok := obj.(*appsv1.StatefulSet); ok {
		c.queue.Add(keyOf(set))
	}
}

func (c *Controller) onUpdate(old, cur any) {
	o, ok := old.(*appsv1.StatefulSet)
	n, ok2 := cur.(*appsv1.StatefulSet)
	if !ok || !ok2 {
		return
	}
	if o.UID != n.UID {
		c.onDelete(cache.DeletedFinalStateUnknown{Key: keyOf(o), Obj: o})
	}
	c.queue.Add(keyOf(n))
}

func (c *Controller) onDelete(obj any) {
	set, ok := untomb(obj).(*appsv1.StatefulSet)
	if !ok {
		return
	}
	key := keyOf(set)
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onRevision wakes the StatefulSet controlling a ControllerRevision.
func (c *Controller) onRevision(obj any) {
	r, ok := untomb(obj).(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	if set := c.resolve(r.Namespace, metav1.GetControllerOfNoCopy(r)); set != nil {
		c.queue.Add(keyOf(set))
	}
}

// onPodAdd wakes the pod's StatefulSet, counting the pod as one of the
// creates it waits for, or, for an orphan, every StatefulSet that might
// adopt it.
func (c *Controller) onPodAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.DeletionTimestamp != nil {
		c.onPodDelete(p)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if set := c.resolve(p.Namespace, ref); set != nil {
			c.exp.CreationsObserved(keyOf(set), 1)
			c.queue.Add(keyOf(set))
		}
		return
	}
	for _, set := range c.selecting(p.Namespace, p.Labels) {
		c.queue.Add(keyOf(set))
	}
}

// onPodUpdate wakes the pod's StatefulSet, and its former one if that
// changed; for an orphan whose labels or owner changed, every StatefulSet
// that might adopt it. A pod being deleted counts as deleted at once.
func (c *Controller) onPodUpdate(old, cur any) {
	o, ok := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok || !ok2 || (p.ResourceVersion != "" && p.ResourceVersion == o.ResourceVersion) {
		return
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
		if set := c.resolve(o.Namespace, oldRef); set != nil {
			c.queue.Add(keyOf(set))
		}
	}
	if ref != nil {
		if set := c.resolve(p.Namespace, ref); set != nil {
			c.queue.Add(keyOf(set))
		}
		return
	}
	if labelsChanged || refChanged {
		for _, set := range c.selecting(p.Namespace, p.Labels) {
			c.queue.Add(keyOf(set))
		}
	}
}

// onPodDelete wakes the pod's StatefulSet and counts the deletion it may
// wait for.
func (c *Controller) onPodDelete(obj any) {
	p, ok := untomb(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if set := c.resolve(p.Namespace, metav1.GetControllerOfNoCopy(p)); set != nil {
		c.exp.DeletionObserved(keyOf(set), podKey(p))
		c.queue.Add(keyOf(set))
	}
}

// onClaimDelete wakes the StatefulSets whose selector matches a deleted
// claim: a pod whose claim still belonged to its predecessor waits for
// the garbage collector to remove it.
func (c *Controller) onClaimDelete(obj any) {
	claim, ok := untomb(obj).(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	for _, set := range c.selecting(claim.Namespace, claim.Labels) {
		c.queue.Add(keyOf(set))
	}
}

// resolve returns the StatefulSet ref points to, or nil if there is none in
// the cache with that UID.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.StatefulSet {
	if ref == nil || ref.Kind != controllerKind.Kind {
		return nil
	}
	set, err := c.setLister.StatefulSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return nil
	}
	return set
}

// selecting returns the StatefulSets of the namespace whose selector
// matches the labels.
func (c *Controller) selecting(namespace string, lbls map[string]string) []*appsv1.StatefulSet {
	all, err := c.setLister.StatefulSets(namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.StatefulSet
	for _, set := range all {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(lbls)) {
			out = append(out, set)
		}
	}
	return out
}
