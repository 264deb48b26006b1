package replicaset

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/podowner"
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

// podEvents routes pod events to their owner (internal/controller/podowner).
func (c *Controller) podEvents() *podowner.Events[*replicated] {
	return &podowner.Events[*replicated]{
		Resolve: func(ns string, ref *metav1.OwnerReference) (*replicated, bool) {
			o := c.resolve(ns, ref)
			return o, o != nil
		},
		Selecting: c.selecting, Key: func(r *replicated) string { return keyOf(r.meta) }, Queue: c.queue, Exp: c.exp,
	}
}

func (c *Controller) onPodAdd(obj any)         { c.podEvents().OnAdd(obj) }
func (c *Controller) onPodUpdate(old, cur any) { c.podEvents().OnUpdate(old, cur) }
func (c *Controller) onPodDelete(obj any)      { c.podEvents().OnDelete(obj) }
