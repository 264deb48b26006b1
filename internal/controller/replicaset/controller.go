// Package replicaset keeps the pods of ReplicaSets and of
// ReplicationControllers as kube-controller-manager v1.32 does: it creates
// missing pods from the template (in slow-start batches), deletes extra ones
// (those least worth keeping first), adopts matching orphans and releases
// pods that no longer match, and reports replica counts and the
// ReplicaFailure condition in the status. One logic serves both kinds: a
// ReplicationController is handled as a ReplicaSet with an equality-based
// selector.
package replicaset

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
)

// Controller is the ReplicaSet controller, or the ReplicationController
// manager; both are the same code over a different kind.
type Controller struct {
	client    kubernetes.Interface
	kind      workload
	pods      corelisters.PodLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	exp       *expectations.Expectations
	component string // source of events
	recorder  record.EventRecorder
	log       *slog.Logger
	now       func() time.Time
	burst     int
}

// New returns the controller of apps/v1 ReplicaSets, registering its event
// handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	inf := factory.Apps().V1().ReplicaSets()
	kind := replicaSets{client: client, lister: inf.Lister()}
	return newController(client, factory, kind, inf.Informer(), "replicaset-controller", "replicaset", log)
}

// NewReplicationManager returns the controller of core/v1
// ReplicationControllers, registering its event handlers with factory.
func NewReplicationManager(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	inf := factory.Core().V1().ReplicationControllers()
	kind := replicationControllers{client: client, lister: inf.Lister()}
	return newController(client, factory, kind, inf.Informer(), "replication-controller", "replicationmanager", log)
}

func newController(client kubernetes.Interface, factory informers.SharedInformerFactory, kind workload, inf cache.SharedIndexInformer, component, name string, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	pods := factory.Core().V1().Pods()
	c := &Controller{
		client: client, kind: kind, pods: pods.Lister(), component: component,
		synced: []cache.InformerSynced{inf.HasSynced, pods.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		exp: expectations.New(time.Now), log: log.With("controller", name), now: time.Now, burst: burstReplicas,
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onAdd, UpdateFunc: c.onUpdate, DeleteFunc: c.onDelete,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodDelete,
	})
	return c
}

// Start waits for the caches to sync, then runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer b.Shutdown()
	c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: c.component})
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	workers = max(workers, 1)
	c.log.Info("started", "workers", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, c.worker, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) worker(ctx context.Context) {
	for c.next(ctx) {
	}
}

func (c *Controller) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	start := c.now()
	after, err := c.sync(ctx, key)
	c.log.Debug("synced", "key", key, "duration", c.now().Sub(start))
	if err != nil {
		c.log.Warn("sync failed", "key", key, "err", err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if after > 0 {
		c.queue.AddAfter(key, after)
	}
	return true
}

// keyOf is the queue and expectations key of an object: namespace/name.
func keyOf(m *metav1.ObjectMeta) string { return m.Namespace + "/" + m.Name }
