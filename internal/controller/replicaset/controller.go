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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
	"github.com/skiff/skiff/internal/controller/worker"
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
	rec, stop := worker.Recorder(ctx, c.client, c.component)
	defer stop()
	c.recorder = rec
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log, Sync: c.sync})
	return nil
}

// keyOf is the queue and expectations key of an object: namespace/name.
func keyOf(m *metav1.ObjectMeta) string { return m.Namespace + "/" + m.Name }
