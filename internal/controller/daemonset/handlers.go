package daemonset

import (
	"maps"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
	if ds, ok := obj.(*appsv1.DaemonSet); ok {
		c.queue.Add(keyOf(ds))
	}
}

func (c *Controller) onUpdate(old, cur any) {
	o, ok := old.(*appsv1.DaemonSet)
	n, ok2 := cur.(*appsv1.DaemonSet)
	if !ok || !ok2 {
		return
	}
	if o.UID != n.UID {
		c.onDelete(cache.DeletedFinalStateUnknown{Key: keyOf(o), Obj: o})
	}
	c.queue.Add(keyOf(n))
}

func (c *Controller) onDelete(obj any) {
	ds, ok := untomb(obj).(*appsv1.DaemonSet)
	if !ok {
		return
	}
	key := keyOf(ds)
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onRevision wakes the DaemonSet controlling a ControllerRevision.
func (c *Controller) onRevision(obj any) {
	r, ok := untomb(obj).(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	if ds := c.resolve(r.Namespace, metav1.GetControllerOfNoCopy(r)); ds != nil {
		c.queue.Add(keyOf(ds))
	}
}

// onPodAdd wakes the pod's DaemonSet, counting the pod as one of the
// creates it waits for, or, for an orphan, every DaemonSet that might
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
		if ds := c.resolve(p.Namespace, ref); ds != nil {
			c.exp.CreationsObserved(keyOf(ds), 1)
			c.queue.Add(keyOf(ds))
		}
		return
	}
	for _, ds := range c.selecting(p) {
		c.queue.Add(keyOf(ds))
	}
}

// onPodUpdate wakes the pod's DaemonSet, and its former one if that
// changed; for an orphan whose labels or owner changed, every DaemonSet
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
		if ds := c.resolve(o.Namespace, oldRef); ds != nil {
			c.queue.Add(keyOf(ds))
		}
	}
	if ref != nil {
		if ds := c.resolve(p.Namespace, ref); ds != nil {
			c.queue.Add(keyOf(ds))
		}
		return
	}
	if labelsChanged || refChanged {
		for _, ds := range c.selecting(p) {
			c.queue.Add(keyOf(ds))
		}
	}
}

// onPodDelete wakes the pod's DaemonSet and counts the deletion it may
// wait for.
func (c *Controller) onPodDelete(obj any) {
	p, ok := untomb(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if ds := c.resolve(p.Namespace, metav1.GetControllerOfNoCopy(p)); ds != nil {
		c.exp.DeletionObserved(keyOf(ds), podKey(p))
		c.queue.Add(keyOf(ds))
	}
}

// onNodeAdd wakes the DaemonSets that should run a pod on the new node.
func (c *Controller) onNodeAdd(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	for _, ds := range c.allDaemonSets() {
		if nodePlacement(node, ds).shouldRun {
			c.queue.Add(keyOf(ds))
		}
	}
}

// onNodeUpdate wakes the DaemonSets whose decision about the node changed.
// Updates that touch only heartbeats and other status are ignored.
func (c *Controller) onNodeUpdate(old, cur any) {
	o, ok := old.(*corev1.Node)
	n, ok2 := cur.(*corev1.Node)
	if !ok || !ok2 || nodeUpdateIrrelevant(o, n) {
		return
	}
	for _, ds := range c.allDaemonSets() {
		if nodePlacement(o, ds) != nodePlacement(n, ds) {
			c.queue.Add(keyOf(ds))
		}
	}
}

// onNodeDelete wakes every DaemonSet: its pod there is gone or orphaned,
// and its status changes.
func (c *Controller) onNodeDelete(obj any) {
	if _, ok := untomb(obj).(*corev1.Node); !ok {
		return
	}
	for _, ds := range c.allDaemonSets() {
		c.queue.Add(keyOf(ds))
	}
}

// nodeUpdateIrrelevant says the update changed nothing a DaemonSet looks
// at: labels, taints and the rest of the spec stay the same.
func nodeUpdateIrrelevant(o, n *corev1.Node) bool {
	return maps.Equal(o.Labels, n.Labels) && equality.Semantic.DeepEqual(o.Spec, n.Spec)
}

func (c *Controller) allDaemonSets() []*appsv1.DaemonSet {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return all
}

// resolve returns the DaemonSet ref points to, or nil if there is none in
// the cache with that UID.
func (c *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	if ref == nil || ref.Kind != controllerKind.Kind {
		return nil
	}
	ds, err := c.dsLister.DaemonSets(namespace).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return nil
	}
	return ds
}

// selecting returns the DaemonSets whose selector matches the pod's labels.
func (c *Controller) selecting(p *corev1.Pod) []*appsv1.DaemonSet {
	all, err := c.dsLister.DaemonSets(p.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.DaemonSet
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, ds)
		}
	}
	return out
}
