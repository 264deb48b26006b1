package statefulset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/podowner"
)

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
	set, ok := podowner.Untomb(obj).(*appsv1.StatefulSet)
	if !ok {
		return
	}
	key := keyOf(set)
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onRevision wakes the StatefulSet controlling a ControllerRevision.
func (c *Controller) onRevision(obj any) {
	r, ok := podowner.Untomb(obj).(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	if set := c.resolve(r.Namespace, metav1.GetControllerOfNoCopy(r)); set != nil {
		c.queue.Add(keyOf(set))
	}
}

// onClaimDelete wakes the StatefulSets whose selector matches a deleted
// claim: a pod whose claim still belonged to its predecessor waits for
// the garbage collector to remove it.
func (c *Controller) onClaimDelete(obj any) {
	claim, ok := podowner.Untomb(obj).(*corev1.PersistentVolumeClaim)
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

// podEvents routes pod events to their owner (internal/controller/podowner).
func (c *Controller) podEvents() *podowner.Events[*appsv1.StatefulSet] {
	return &podowner.Events[*appsv1.StatefulSet]{
		Resolve: func(ns string, ref *metav1.OwnerReference) (*appsv1.StatefulSet, bool) {
			o := c.resolve(ns, ref)
			return o, o != nil
		},
		Selecting: func(p *corev1.Pod) []*appsv1.StatefulSet { return c.selecting(p.Namespace, p.Labels) }, Key: keyOf, Queue: c.queue, Exp: c.exp,
	}
}

func (c *Controller) onPodAdd(obj any)         { c.podEvents().OnAdd(obj) }
func (c *Controller) onPodUpdate(old, cur any) { c.podEvents().OnUpdate(old, cur) }
func (c *Controller) onPodDelete(obj any)      { c.podEvents().OnDelete(obj) }
