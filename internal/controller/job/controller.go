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
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
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
	defer c.queue.ShutDown()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer b.Shutdown()
	c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
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
