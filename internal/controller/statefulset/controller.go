// Package statefulset runs the pods of apps/v1 StatefulSets as
// kube-controller-manager v1.32 does: each pod has a stable name
// (<set>-<ordinal>), hostname and PersistentVolumeClaims made from the
// volumeClaimTemplates; OrderedReady sets create pods in ordinal order,
// each waiting for the one before to be running and ready, and remove them
// from the highest ordinal down, while Parallel sets do both at once. Failed
// or deleted pods are recreated under the same name. Template changes are
// recorded as ControllerRevisions, which kubectl's rollout history and undo
// read, and roll out from the highest ordinal down (RollingUpdate, with a
// partition) or when pods are deleted (OnDelete). The
// persistentVolumeClaimRetentionPolicy is carried out with owner references
// on the claims, which the garbage collector follows.
package statefulset

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/expectations"
	"github.com/skiff/skiff/internal/controller/worker"
)

// component is the source of the controller's events.
const component = "statefulset-controller"

var (
	// controllerKind is the kind of the owner references the controller
	// sets on pods, claims and revisions.
	controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	// podKind is the kind of the owner references to pods the controller
	// sets on the claims of pods scaled away.
	podKind = corev1.SchemeGroupVersion.WithKind("Pod")
)

// Controller is the StatefulSet controller.
type Controller struct {
	client    kubernetes.Interface
	setLister appslisters.StatefulSetLister
	revLister appslisters.ControllerRevisionLister
	pods      corelisters.PodLister
	claims    corelisters.PersistentVolumeClaimLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	exp       *expectations.Expectations
	recorder  record.EventRecorder
	log       *slog.Logger
	now       func() time.Time
}

// New returns the controller of apps/v1 StatefulSets, registering its event
// handlers with factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	sets := factory.Apps().V1().StatefulSets()
	revs := factory.Apps().V1().ControllerRevisions()
	pods := factory.Core().V1().Pods()
	claims := factory.Core().V1().PersistentVolumeClaims()
	c := &Controller{
		client: client, setLister: sets.Lister(), revLister: revs.Lister(), pods: pods.Lister(), claims: claims.Lister(),
		synced: []cache.InformerSynced{sets.Informer().HasSynced, revs.Informer().HasSynced,
			pods.Informer().HasSynced, claims.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "statefulset"}),
		exp: expectations.New(time.Now),
		log: log.With("controller", "statefulset"), now: time.Now,
	}
	_, _ = sets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onAdd, UpdateFunc: c.onUpdate, DeleteFunc: c.onDelete,
	})
	_, _ = revs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onRevision, UpdateFunc: func(_, cur any) { c.onRevision(cur) }, DeleteFunc: c.onRevision,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPodAdd, UpdateFunc: c.onPodUpdate, DeleteFunc: c.onPodDelete,
	})
	_, _ = claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.onClaimDelete,
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

// keyOf is the queue and expectations key of a StatefulSet: namespace/name.
func keyOf(set *appsv1.StatefulSet) string { return set.Namespace + "/" + set.Name }
