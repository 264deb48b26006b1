// Package endpointslice keeps the discovery.k8s.io/v1 EndpointSlices of
// services with a selector as kube-controller-manager v1.32's
// endpointslice controller does: per address type of the service, the
// selected pods' endpoints (with ready, serving and terminating conditions,
// node, zone and hostname) in slices of at most 100, one set of slices per
// distinct set of resolved ports. Slices are updated in place, filled
// before new ones are created, and written only when they change.
package endpointslice

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/endpointutil"
	"github.com/skiff/skiff/internal/controller/worker"
)

const (
	// component is the source of the controller's events.
	component = "endpointslice-controller"
	// managedBy is the value of the managed-by label on the slices this
	// controller owns; slices with another value are left alone.
	managedBy = "endpointslice-controller.k8s.io"
	// maxEndpointsPerSlice is kube-controller-manager's default
	// --max-endpoints-per-slice.
	maxEndpointsPerSlice = 100
)

// Controller is the EndpointSlice controller.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	nodes     corelisters.NodeLister
	slices    discoverylisters.EndpointSliceLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	selectors *endpointutil.Selectors
	triggers  *endpointutil.TriggerTimes
	tracker   *sliceTracker
	recorder  record.EventRecorder
	log       *slog.Logger
	now       func() time.Time
	max       int // endpoints per slice
}

// New returns the controller of discovery.k8s.io/v1 EndpointSlices,
// registering its event handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	svcs := factory.Core().V1().Services()
	pods := factory.Core().V1().Pods()
	nodes := factory.Core().V1().Nodes()
	slices := factory.Discovery().V1().EndpointSlices()
	c := &Controller{
		client: client, services: svcs.Lister(), pods: pods.Lister(), nodes: nodes.Lister(), slices: slices.Lister(),
		synced: []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced,
			nodes.Informer().HasSynced, slices.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpointslice"}),
		selectors: endpointutil.NewSelectors(), triggers: endpointutil.NewTriggerTimes(), tracker: newSliceTracker(),
		recorder: &record.FakeRecorder{}, log: log.With("controller", "endpointslice"), now: time.Now,
		max: maxEndpointsPerSlice,
	}
	_, _ = svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onServiceAdd, UpdateFunc: c.onServiceUpdate, DeleteFunc: c.onServiceDelete,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodDelete,
	})
	_, _ = slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onSliceAdd, UpdateFunc: c.onSliceUpdate, DeleteFunc: c.onSliceDelete,
	})
	return c
}

// Start waits for the caches to sync, then runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	rec, stop := worker.Recorder(ctx, c.client, component)
	defer stop()
	c.recorder = rec
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log, Sync: func(ctx context.Context, key string) (time.Duration, error) { return 0, c.sync(ctx, key) },
		Quiet: func(err error) bool { return errors.Is(err, errStale) }})
	return nil
}
