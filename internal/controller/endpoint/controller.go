// Package endpoint keeps the core/v1 Endpoints of services with a selector
// as kube-controller-manager v1.32's endpoint controller does: one
// Endpoints per service, named after it, listing the IPs of the selected
// pods (ready ones under addresses, the others under notReadyAddresses)
// with the ports each pod resolves, grouped into subsets of identical port
// sets. Selectorless services keep the Endpoints their users write.
package endpoint

import (
	"context"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/endpointutil"
	"github.com/skiff/skiff/internal/controller/worker"
)

const (
	// component is the source of the controller's events.
	component = "endpoint-controller"
	// maxCapacity caps the addresses of one Endpoints object; beyond it
	// they are truncated and the object says so in an annotation.
	maxCapacity = 1000
	// truncated is the value of the over-capacity annotation.
	truncated = "truncated"
	// leaderAnnotation marks the Endpoints that old leader elections
	// used as locks; they have no service and are not leftovers.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Controller is the Endpoints controller.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	selectors *endpointutil.Selectors
	triggers  *endpointutil.TriggerTimes
	stale     *staleTracker
	recorder  record.EventRecorder
	log       *slog.Logger
	now       func() time.Time
}

// New returns the controller of core/v1 Endpoints, registering its event
// handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	svcs := factory.Core().V1().Services()
	pods := factory.Core().V1().Pods()
	eps := factory.Core().V1().Endpoints()
	c := &Controller{
		client: client, services: svcs.Lister(), pods: pods.Lister(), endpoints: eps.Lister(),
		synced: []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced, eps.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoint"}),
		selectors: endpointutil.NewSelectors(), triggers: endpointutil.NewTriggerTimes(), stale: newStaleTracker(),
		recorder: &record.FakeRecorder{}, log: log.With("controller", "endpoint"), now: time.Now,
	}
	_, _ = svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onServiceAdd, UpdateFunc: c.onServiceUpdate, DeleteFunc: c.onServiceDelete,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodDelete,
	})
	_, _ = eps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.onEndpointsUpdate, DeleteFunc: c.onEndpointsDelete,
	})
	return c
}

// Start waits for the caches to sync, then runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	rec, stop := worker.Recorder(ctx, c.client, component)
	defer stop()
	c.recorder = rec
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log, Sync: func(ctx context.Context, key string) (time.Duration, error) { return 0, c.sync(ctx, key) }, Started: c.enqueueLeftovers})
	return nil
}

// enqueueLeftovers queues the Endpoints whose service is gone, deleted
// while no controller ran, so that their syncs delete them.
func (c *Controller) enqueueLeftovers() {
	all, err := c.endpoints.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ep := range all {
		if _, ok := ep.Annotations[leaderAnnotation]; ok {
			continue
		}
		if _, err := c.services.Services(ep.Namespace).Get(ep.Name); apierrors.IsNotFound(err) {
			c.queue.Add(endpointutil.Key(ep.Namespace, ep.Name))
		}
	}
}
