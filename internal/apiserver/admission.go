package apiserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	namespaces namespaceCache
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
	return nil
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

// namespaceCache mirrors every namespace's lifecycle from the watch cache,
// so creates need no store read for their namespace.
type namespaceCache struct {
	once        sync.Once
	mu          sync.RWMutex
	synced      bool
	terminating map[string]bool
}

func (c *namespaceCache) get(ns string) (terminating, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.synced {
		return false, false
	}
	terminating, ok = c.terminating[ns]
	return terminating, ok
}

func (c *namespaceCache) start(ctx context.Context, h *resourceHandler) {
	c.once.Do(func() { go c.run(ctx, h) })
}

// run keeps the cache current: list, then follow the watch cache; start
// over if the watch ends.
func (c *namespaceCache) run(ctx context.Context, h *resourceHandler) {
	for ctx.Err() == nil {
		items, lm, err := h.listObjects(ctx, selectAll(""), listOptions{})
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		state := map[string]bool{}
		for _, it := range items {
			ns := it.(*corev1.Namespace)
			state[ns.Name] = isTerminating(ns)
		}
		var rev int64
		fmt.Sscan(lm.ResourceVersion, &rev)
		events, stop := h.subscribe(ctx, rev)
		c.mu.Lock()
		c.terminating, c.synced = state, true
		c.mu.Unlock()
		c.follow(events)
		stop()
		c.mu.Lock()
		c.synced = false
		c.mu.Unlock()
	}
}

func (c *namespaceCache) follow(events <-chan *cacheEvent) {
	for ev := range events {
		if ev.Err != nil {
			return
		}
		ns, ok := ev.Object.(*corev1.Namespace)
		if !ok {
			continue
		}
		c.mu.Lock()
		if ev.Type == watch.Deleted {
			delete(c.terminating, ns.Name)
		} else {
			c.terminating[ns.Name] = isTerminating(ns)
		}
		c.mu.Unlock()
	}
}
