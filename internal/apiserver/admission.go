package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/store"
)

// admission runs the built-in admission checks on creates.
type admission struct {
	s          *Server
	namespaces mirror[bool] // terminating, by name
	priorities mirror[*schedulingv1.PriorityClass]
}

func newAdmission(s *Server) *admission {
	a := &admission{s: s}
	a.namespaces.conv = func(obj runtime.Object) (string, bool) {
		ns := obj.(*corev1.Namespace)
		return ns.Name, isTerminating(ns)
	}
	a.priorities.conv = func(obj runtime.Object) (string, *schedulingv1.PriorityClass) {
		pc := obj.(*schedulingv1.PriorityClass)
		return pc.Name, pc
	}
	return a
}

// admitCreate refuses objects in namespaces that do not exist or are
// being deleted (Kubernetes' NamespaceLifecycle plugin).
func (a *admission) admitCreate(ctx context.Context, res *registry.Resource, obj runtime.Object) error {
	if !res.Namespaced {
		return nil
	}
	m := objMeta(obj)
	ns := m.GetNamespace()
	if ns == "" {
		return nil // validation reports the missing namespace
	}
	terminating, err := a.namespaceState(ctx, ns)
	if err != nil {
		return err
	}
	if terminating {
		name := m.GetName()
		if name == "" {
			name = m.GetGenerateName()
		}
		e := apierrors.NewForbidden(res.GroupResource(), name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace",
		})
		return e
	}
	if pod, ok := obj.(*corev1.Pod); ok && res.GroupResource() == corev1.Resource("pods") {
		return a.admitPodPriority(ctx, pod)
	}
	return nil
}

// admitPodPriority resolves spec.priority and spec.preemptionPolicy from
// the pod's PriorityClass, or from the class marked globalDefault when it
// names none, as Kubernetes' Priority admission plugin does. (Pod
// defaulting already resolved the built-in system classes and, without a
// class, priority 0.)
func (a *admission) admitPodPriority(ctx context.Context, pod *corev1.Pod) error {
	spec := &pod.Spec
	name := spec.PriorityClassName
	var pc *schedulingv1.PriorityClass
	if name == "" {
		pc = a.defaultPriorityClass(ctx)
		if pc == nil {
			return nil
		}
		if spec.Priority != nil && *spec.Priority == 0 {
			spec.Priority = nil // the defaulting's 0, not the user's
		}
		spec.PriorityClassName = pc.Name
	} else {
		var err error
		if pc, err = a.priorityClass(ctx, pod.Name, name); err != nil {
			return err
		}
	}
	if spec.Priority != nil && *spec.Priority != pc.Value {
		return apierrors.NewForbidden(corev1.Resource("pods"), pod.Name, fmt.Errorf(
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *spec.Priority, pc.Value))
	}
	value := pc.Value
	spec.Priority = &value
	policy := corev1.PreemptLowerPriority
	if pc.PreemptionPolicy != nil {
		policy = *pc.PreemptionPolicy
	}
	if spec.PreemptionPolicy != nil && *spec.PreemptionPolicy != policy {
		return apierrors.NewForbidden(corev1.Resource("pods"), pod.Name, fmt.Errorf(
			"the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *spec.PreemptionPolicy, policy))
	}
	spec.PreemptionPolicy = &policy
	return nil
}

func (a *admission) priorityHandler() *resourceHandler {
	h := a.s.handlers[gvrKey(schedulingv1.GroupName, "v1", "priorityclasses")]
	if h != nil {
		a.priorities.start(a.s.base, h)
	}
	return h
}

// priorityClass finds a class by name: from the mirror, or from the store
// when the mirror has not seen it (it may be brand new).
func (a *admission) priorityClass(ctx context.Context, pod, name string) (*schedulingv1.PriorityClass, error) {
	notFound := apierrors.NewForbidden(corev1.Resource("pods"), pod, fmt.Errorf("no PriorityClass with name %v was found", name))
	h := a.priorityHandler()
	if h == nil {
		return nil, notFound
	}
	if pc, ok := a.priorities.get(name); ok {
		return pc, nil
	}
	kv, _, err := a.s.cfg.Store.Get(ctx, h.key("", name), 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, toStatusError(err, h.res, name)
	}
	got, err := h.codec.decode(kv)
	if err != nil {
		return nil, err
	}
	return got.(*schedulingv1.PriorityClass), nil
}

// defaultPriorityClass is the globalDefault class with the highest value,
// or nil.
func (a *admission) defaultPriorityClass(ctx context.Context) *schedulingv1.PriorityClass {
	h := a.priorityHandler()
	if h == nil {
		return nil
	}
	var best *schedulingv1.PriorityClass
	pick := func(pc *schedulingv1.PriorityClass) {
		if pc.GlobalDefault && (best == nil || pc.Value > best.Value) {
			best = pc
		}
	}
	if a.priorities.each(pick) {
		return best
	}
	objs, _, err := h.listObjects(ctx, selectAll(""), listOptions{})
	if err != nil {
		return nil
	}
	for _, obj := range objs {
		pick(obj.(*schedulingv1.PriorityClass))
	}
	return best
}

// namespaceState says whether ns is terminating, from the cache, or from
// the store when the cache has not seen ns (it may be brand new).
func (a *admission) namespaceState(ctx context.Context, ns string) (bool, error) {
	h := a.s.handlers[gvrKey("", "v1", "namespaces")]
	a.namespaces.start(a.s.base, h)
	if terminating, ok := a.namespaces.get(ns); ok {
		return terminating, nil
	}
	kv, _, err := a.s.cfg.Store.Get(ctx, h.key("", ns), 0)
	if errors.Is(err, store.ErrNotFound) {
		return false, apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
	}
	if err != nil {
		return false, toStatusError(err, h.res, ns)
	}
	got, err := h.codec.decode(kv)
	if err != nil {
		return false, err
	}
	return isTerminating(got.(*corev1.Namespace)), nil
}

func isTerminating(ns *corev1.Namespace) bool {
	return ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil
}

// mirror keeps a map of every object of one resource, converted by conv,
// current from the watch cache, so admission needs no store read.
type mirror[V any] struct {
	once   sync.Once
	mu     sync.RWMutex
	synced bool
	items  map[string]V
	conv   func(runtime.Object) (string, V)
}

func (c *mirror[V]) get(name string) (v V, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced {
		return v, false
	}
	v, ok = c.items[name]
	return v, ok
}

// each calls fn for every item; it reports false if the mirror has not
// synced.
func (c *mirror[V]) each(fn func(V)) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced {
		return false
	}
	for _, v := range c.items {
		fn(v)
	}
	return true
}

func (c *mirror[V]) start(ctx context.Context, h *resourceHandler) {
	c.once.Do(func() { go c.run(ctx, h) })
}

// run keeps the mirror current: list, then follow the watch cache; start
// over if the watch ends.
func (c *mirror[V]) run(ctx context.Context, h *resourceHandler) {
	for ctx.Err() == nil {
		objs, lm, err := h.listObjects(ctx, selectAll(""), listOptions{})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		items := make(map[string]V, len(objs))
		for _, obj := range objs {
			k, v := c.conv(obj)
			items[k] = v
		}
		var rev int64
		fmt.Sscan(lm.ResourceVersion, &rev)
		events, stop := h.subscribe(ctx, rev)
		c.mu.Lock()
		c.items, c.synced = items, true
		c.mu.Unlock()
		c.follow(events)
		stop()
		c.mu.Lock()
		c.synced = false
		c.mu.Unlock()
	}
}

func (c *mirror[V]) follow(events <-chan *cacheEvent) {
	for ev := range events {
		if ev.Err != nil {
			return
		}
		k, v := c.conv(ev.Object)
		c.mu.Lock()
		if ev.Type == watch.Deleted {
			delete(c.items, k)
		} else {
			c.items[k] = v
		}
		c.mu.Unlock()
	}
}
