// Package garbagecollector deletes objects whose owners are gone and
// carries out cascading deletion: Background (dependents deleted after
// their owner), Foreground (the owner waits, with the foregroundDeletion
// finalizer, until dependents that block it are gone) and Orphan (the orphan
// finalizer: dependents lose their owner reference instead).
package garbagecollector

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/apiresources"
)

// ignored resources are never collected (as upstream: events).
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// Collector is the garbage collector.
type Collector struct {
	md        metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    meta.RESTMapper
	graph     *graph
	queue     workqueue.TypedRateLimitingInterface[types.UID]
	synced    []cache.InformerSynced
	log       *slog.Logger
}

// New returns a collector. mapper resolves owner references' kinds.
func New(md metadata.Interface, disc discovery.DiscoveryInterface, mapper meta.RESTMapper, log *slog.Logger) *Collector {
	return &Collector{
		md: md, discovery: disc, mapper: mapper, graph: newGraph(), log: log.With("controller", "garbagecollector"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](50*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbagecollector"}),
	}
}

// Start watches every deletable resource and collects until ctx ends.
func (c *Collector) Start(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	resources, err := c.deletableResources()
	if err != nil {
		return err
	}
	factory := metadatainformer.NewSharedInformerFactory(c.md, 0)
	for _, gvr := range resources {
		c.watch(factory, gvr)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	<-ctx.Done()
	return nil
}

// deletableResources lists the resources the collector watches and deletes
// from: all that can be listed, watched, deleted and patched, but the
// ignored ones.
func (c *Collector) deletableResources() ([]schema.GroupVersionResource, error) {
	all, err := apiresources.Discover(c.discovery, false, "list", "watch", "delete", "patch")
	if err != nil {
		return nil, fmt.Errorf("garbagecollector: %w", err)
	}
	var out []schema.GroupVersionResource
	for _, gvr := range all {
		if !ignored[gvr.GroupResource()] {
			out = append(out, gvr)
		}
	}
	return out, nil
}

func (c *Collector) watch(factory metadatainformer.SharedInformerFactory, gvr schema.GroupVersionResource) {
	inf := factory.ForResource(gvr).Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.observe(gvr, obj) },
		UpdateFunc: func(_, obj interface{}) { c.observe(gvr, obj) },
		DeleteFunc: func(obj interface{}) { c.forget(obj) },
	})
	c.synced = append(c.synced, inf.HasSynced)
}

func (c *Collector) observe(gvr schema.GroupVersionResource, obj interface{}) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	n := &node{
		gvr: gvr, namespace: m.GetNamespace(), name: m.GetName(), uid: m.GetUID(), resourceVersion: m.GetResourceVersion(),
		owners: m.GetOwnerReferences(), finalizers: m.GetFinalizers(), deleting: m.GetDeletionTimestamp() != nil,
	}
	old := c.graph.upsert(n)
	switch {
	case n.deleting && (n.hasFinalizer(metav1.FinalizerOrphanDependents) || n.hasFinalizer(metav1.FinalizerDeleteDependents)):
		c.queue.Add(n.uid)
	case len(n.owners) > 0 && (old == nil || !sameOwners(old.owners, n.owners)):
		c.queue.Add(n.uid)
	}
	if n.deleting && (old == nil || !old.deleting) {
		// Dependents of an owner being deleted may have to go too.
		for _, d := range c.graph.dependentsOf(n.uid) {
			c.queue.Add(d.uid)
		}
	}
}

func (c *Collector) forget(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	n := c.graph.remove(m.GetUID())
	if n == nil {
		return
	}
	for _, d := range c.graph.dependentsOf(n.uid) {
		c.queue.Add(d.uid)
	}
	// An owner deleting in the foreground may now be free to go.
	for _, o := range n.owners {
		c.queue.Add(o.UID)
	}
}

func sameOwners(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].UID != b[i].UID {
			return false
		}
	}
	return true
}

func (c *Collector) worker(ctx context.Context) {
	for c.next(ctx) {
	}
}

func (c *Collector) next(ctx context.Context) bool {
	uid, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(uid)
	if err := c.process(ctx, uid); err != nil {
		c.log.Debug("will retry", "uid", uid, "err", err)
		c.queue.AddRateLimited(uid)
		return true
	}
	c.queue.Forget(uid)
	return true
}
