package daemonset

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/podowner"
)

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
	ds, ok := podowner.Untomb(obj).(*appsv1.DaemonSet)
	if !ok {
		return
	}
	key := keyOf(ds)
	c.exp.Forget(key)
	c.queue.Add(key)
}

// onRevision wakes the DaemonSet controlling a ControllerRevision.
func (c *Controller) onRevision(obj any) {
	r, ok := podowner.Untomb(obj).(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	if ds := c.resolve(r.Namespace, metav1.GetControllerOfNoCopy(r)); ds != nil {
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
	if _, ok := podowner.Untomb(obj).(*corev1.Node); !ok {
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

// podEvents routes pod events to their owner (internal/controller/podowner).
func (c *Controller) podEvents() *podowner.Events[*appsv1.DaemonSet] {
	return &podowner.Events[*appsv1.DaemonSet]{
		Resolve: func(ns string, ref *metav1.OwnerReference) (*appsv1.DaemonSet, bool) {
			o := c.resolve(ns, ref)
			return o, o != nil
		},
		Selecting: c.selecting, Key: keyOf, Queue: c.queue, Exp: c.exp,
	}
}

func (c *Controller) onPodAdd(obj any)         { c.podEvents().OnAdd(obj) }
func (c *Controller) onPodUpdate(old, cur any) { c.podEvents().OnUpdate(old, cur) }
func (c *Controller) onPodDelete(obj any)      { c.podEvents().OnDelete(obj) }
