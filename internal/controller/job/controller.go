// Package job runs batch/v1 Jobs as kube-controller-manager v1.32 does: it
// creates pods from the template until the wanted number of completions
// have succeeded (keeping at most parallelism running, one pod per index
// for Indexed Jobs), recreates failed pods with exponential back-off up to
// backoffLimit (or backoffLimitPerIndex), fails Jobs past
// activeDeadlineSeconds or matching a podFailurePolicy FailJob rule,
// completes them by completions or successPolicy, deletes the pods of
// suspended and finishing Jobs, reports counts and conditions in the
// status (FailureTarget or SuccessCriteriaMet first, Failed or Complete
// once no pod is left), and deletes finished Jobs once
// ttlSecondsAfterFinished has passed.
//
// Pods are counted through the batch.kubernetes.io/job-tracking finalizer
// and status.uncountedTerminatedPods (see jobState), so a pod deleted
// right after it ends still counts, once. Jobs whose spec.managedBy names
// another controller are left alone.
package job

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
	"github.com/skiff/skiff/internal/controller/worker"
)

const component = "job-controller"

// managedBy is the spec.managedBy value of Jobs this controller runs (as
// when the field is unset).
const managedBy = "kubernetes.io/job-controller"

// Controller is the Job controller.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	exp      *expectations.Expectations
	released *releasedPods
	recorder record.EventRecorder
	log      *slog.Logger
	now      func() time.Time
}

// New returns the controller of batch/v1 Jobs, registering its event
// handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	jobs := factory.Batch().V1().Jobs()
	pods := factory.Core().V1().Pods()
	c := &Controller{
		client: client, jobs: jobs.Lister(), pods: pods.Lister(),
		synced: []cache.InformerSynced{jobs.Informer().HasSynced, pods.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "job"}),
		exp: expectations.New(time.Now), released: newReleasedPods(), log: log.With("controller", "job"), now: time.Now,
	}
	_, _ = jobs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onAdd, UpdateFunc: c.onUpdate, DeleteFunc: c.onDelete,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodGone,
	})
	return c
}

// Start waits for the caches to sync, then runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	rec, stop := worker.Recorder(ctx, c.client, component)
	defer stop()
	c.recorder = rec
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log, Sync: c.sync})
	return nil
}
