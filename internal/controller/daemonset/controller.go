// Package daemonset runs one pod of each apps/v1 DaemonSet on every node
// that qualifies for it, as kube-controller-manager v1.32 does: pods are
// pinned to their node by required node affinity (the scheduler binds
// them), get the tolerations daemon pods always carry, are replaced when
// they fail (with back-off) and removed from nodes that no longer qualify.
// Template changes are recorded as ControllerRevisions, which kubectl's
// rollout history and undo read, and roll out with the RollingUpdate
// (maxUnavailable, maxSurge) or OnDelete strategy.
package daemonset

import (
	"context"
	"log/slog"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
	"github.com/skiff/skiff/internal/controller/worker"
)

const (
	// component is the source of the controller's events.
	component = "daemonset-controller"
	// burstReplicas caps the creates or deletes of one sync, as
	// kube-controller-manager's DaemonSet BurstReplicas.
	burstReplicas = 250
	// failedPodBackoffInitial and failedPodBackoffMax bound the wait
	// before a failed daemon pod on a node is deleted again.
	failedPodBackoffInitial = time.Second
	failedPodBackoffMax     = 15 * time.Minute
)

// controllerKind is the kind of the owner references the controller sets.
var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Controller is the DaemonSet controller.
type Controller struct {
	client    kubernetes.Interface
	dsLister  appslisters.DaemonSetLister
	revLister appslisters.ControllerRevisionLister
	pods      corelisters.PodLister
	nodes     corelisters.NodeLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	exp       *expectations.Expectations
	// backoff spaces out the deletions of failed pods per DaemonSet and
	// node, so a pod that fails at once is not recreated in a hot loop.
	backoff  *flowcontrol.Backoff
	recorder record.EventRecorder
	log      *slog.Logger
	now      func() time.Time
	burst    int
}

// New returns the controller of apps/v1 DaemonSets, registering its event
// handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	ds := factory.Apps().V1().DaemonSets()
	revs := factory.Apps().V1().ControllerRevisions()
	pods := factory.Core().V1().Pods()
	nodes := factory.Core().V1().Nodes()
	c := &Controller{
		client: client, dsLister: ds.Lister(), revLister: revs.Lister(), pods: pods.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{ds.Informer().HasSynced, revs.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "daemonset"}),
		exp:     expectations.New(time.Now),
		backoff: flowcontrol.NewBackOff(failedPodBackoffInitial, failedPodBackoffMax),
		log:     log.With("controller", "daemonset"), now: time.Now, burst: burstReplicas,
	}
	_, _ = ds.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onAdd, UpdateFunc: c.onUpdate, DeleteFunc: c.onDelete,
	})
	_, _ = revs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onRevision, UpdateFunc: func(_, cur any) { c.onRevision(cur) }, DeleteFunc: c.onRevision,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodDelete,
	})
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onNodeAdd, UpdateFunc: c.onNodeUpdate, DeleteFunc: c.onNodeDelete,
	})
	return c
}

// Start waits for the caches to sync, then runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	rec, stop := worker.Recorder(ctx, c.client, component)
	defer stop()
	c.recorder = rec
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wait.UntilWithContext(ctx, func(context.Context) { c.backoff.GC() }, time.Minute)
	}()
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log, Sync: c.sync})
	wg.Wait()
	return nil
}

// keyOf is the queue and expectations key of a DaemonSet: namespace/name.
func keyOf(ds *appsv1.DaemonSet) string { return ds.Namespace + "/" + ds.Name }
