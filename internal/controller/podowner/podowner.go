// Package podowner routes pod events to the controllers that own pods by
// controller reference and label selector (ReplicaSets and
// ReplicationControllers, DaemonSets, StatefulSets), the way
// kube-controller-manager's do: an owned pod wakes its owner and settles
// its expectations; an orphan wakes every owner that might adopt it.
package podowner

import (
	"maps"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/expectations"
)

// Untomb returns the object inside a deletion tombstone, or obj.
func Untomb(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

// PodKey is how expectations name a pod: namespace/name.
func PodKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// Events routes pod events to owners of type T.
type Events[T any] struct {
	// Resolve returns the owner ref names, if the cache has it with that
	// UID.
	Resolve func(namespace string, ref *metav1.OwnerReference) (T, bool)
	// Selecting returns the owners whose selector matches the pod.
	Selecting func(p *corev1.Pod) []T
	// Key is the owner's queue and expectations key.
	Key   func(T) string
	Queue interface{ Add(string) }
	Exp   *expectations.Expectations
}

func (e *Events[T]) owner(namespace string, ref *metav1.OwnerReference) (string, bool) {
	if ref == nil {
		return "", false
	}
	o, ok := e.Resolve(namespace, ref)
	if !ok {
		return "", false
	}
	return e.Key(o), true
}

func (e *Events[T]) wakeSelecting(p *corev1.Pod) {
	for _, o := range e.Selecting(p) {
		e.Queue.Add(e.Key(o))
	}
}

// OnAdd wakes the pod's owner, counting the pod as one of the creates it
// waits for, or, for an orphan, every owner that might adopt it.
func (e *Events[T]) OnAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if p.DeletionTimestamp != nil {
		// Seen for the first time already going (after a restart): not
		// a create anyone waits for.
		e.OnDelete(p)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if key, ok := e.owner(p.Namespace, ref); ok {
			e.Exp.CreationsObserved(key, 1)
			e.Queue.Add(key)
		}
		return
	}
	e.wakeSelecting(p)
}

// OnUpdate wakes the pod's owner, and its former owner if that changed;
// for an orphan whose labels or owner changed, every owner that might
// adopt it. A pod given a deletion timestamp counts as deleted at once,
// so a replacement is made during its grace period.
func (e *Events[T]) OnUpdate(old, cur any) {
	o, ok := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok || !ok2 || (p.ResourceVersion != "" && p.ResourceVersion == o.ResourceVersion) {
		return
	}
	labelsChanged := !maps.Equal(o.Labels, p.Labels)
	if p.DeletionTimestamp != nil {
		e.OnDelete(p)
		if labelsChanged {
			e.OnDelete(o)
		}
		return
	}
	ref, oldRef := metav1.GetControllerOfNoCopy(p), metav1.GetControllerOfNoCopy(o)
	refChanged := !reflect.DeepEqual(ref, oldRef)
	if refChanged {
		if key, ok := e.owner(o.Namespace, oldRef); ok {
			e.Queue.Add(key)
		}
	}
	if ref != nil {
		if key, ok := e.owner(p.Namespace, ref); ok {
			e.Queue.Add(key)
		}
		return
	}
	if labelsChanged || refChanged {
		e.wakeSelecting(p)
	}
}

// OnDelete wakes the pod's owner and counts the deletion it may wait for.
func (e *Events[T]) OnDelete(obj any) {
	p, ok := Untomb(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if key, ok := e.owner(p.Namespace, metav1.GetControllerOfNoCopy(p)); ok {
		e.Exp.DeletionObserved(key, PodKey(p))
		e.Queue.Add(key)
	}
}
