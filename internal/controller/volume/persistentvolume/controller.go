// Package persistentvolume binds PersistentVolumeClaims to
// PersistentVolumes and provisions volumes for them, as
// kube-controller-manager v1.32's persistentvolume-binder,
// pvc-protection and pv-protection controllers do:
//
//   - an unbound claim gets the best static volume (pvmatch: class,
//     smallest capacity that fits, access modes, volume mode, selector,
//     claimRef pre-binding) or, failing that, a volume from its class's
//     provisioner; a claim without a class gets the default class;
//   - claims of a WaitForFirstConsumer class wait until a pod using them
//     is scheduled (spec.nodeName set; the scheduler does not bind
//     volumes); the claim then gets the volume.kubernetes.io/selected-node
//     annotation and a volume whose node affinity allows that node, or one
//     provisioned there;
//   - a volume whose claim is gone is Released and reclaimed: Retain keeps
//     it, Delete has its provisioner free the storage and deletes it;
//   - claims in use by a scheduled, non-terminated pod keep the
//     kubernetes.io/pvc-protection finalizer, bound volumes the
//     kubernetes.io/pv-protection finalizer;
//   - a bound claim that asks for more storage than its provisioned volume
//     has, in a class with allowVolumeExpansion, gets the larger size on the
//     volume and in status.capacity.
//
// Provisioners built into the binary (see the localpath package) plug in
// through the Provisioner interface; for any other provisioner name the
// claim is annotated and left to an external provisioner, as upstream.
package persistentvolume

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

const (
	// component is the source of the controller's events, as upstream's.
	component = "persistentvolume-controller"
	// resyncPeriod is how often every claim and volume is synced again,
	// as kube-controller-manager's pvclaimbinder-sync-period.
	resyncPeriod = 15 * time.Second
	// podClaimIndex indexes pods by the claims (namespace/name) they use.
	podClaimIndex = "skiff.io/pvc"
)

// Controller binds claims to volumes, provisions and reclaims volumes and
// keeps the protection finalizers.
type Controller struct {
	client   kubernetes.Interface
	claims   corelisters.PersistentVolumeClaimLister
	volumes  corelisters.PersistentVolumeLister
	classes  storagelisters.StorageClassLister
	pods     corelisters.PodLister
	podIndex cache.Indexer
	nodes    corelisters.NodeLister
	synced   []cache.InformerSynced

	claimQueue  workqueue.TypedRateLimitingInterface[string]
	volumeQueue workqueue.TypedRateLimitingInterface[string]

	provisioners map[string]Provisioner
	recorder     record.EventRecorder
	// provRecorders send the events of built-in provisioners, under the
	// provisioner's name as upstream's external provisioners do.
	provRecorders map[string]record.EventRecorder
	log           *slog.Logger
	now           func() time.Time
	resync        time.Duration

	// resizeWarned remembers claim sizes already reported as not
	// expandable, so the warning is not repeated every resync.
	resizeWarned sync.Map
}

// New returns the volume controller, registering its event handlers with
// factory. provisioners are the built-in dynamic provisioners.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger, provisioners ...Provisioner) *Controller {
	if log == nil {
		log = slog.Default()
	}
	claims := factory.Core().V1().PersistentVolumeClaims()
	volumes := factory.Core().V1().PersistentVolumes()
	classes := factory.Storage().V1().StorageClasses()
	pods := factory.Core().V1().Pods()
	nodes := factory.Core().V1().Nodes()
	c := &Controller{
		client: client, claims: claims.Lister(), volumes: volumes.Lister(), classes: classes.Lister(),
		pods: pods.Lister(), nodes: nodes.Lister(),
		synced: []cache.InformerSynced{claims.Informer().HasSynced, volumes.Informer().HasSynced,
			classes.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced},
		claimQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "claims"}),
		volumeQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "volumes"}),
		provisioners: map[string]Provisioner{}, provRecorders: map[string]record.EventRecorder{},
		log: log.With("controller", "persistentvolume"), now: time.Now, resync: resyncPeriod,
	}
	for _, p := range provisioners {
		c.provisioners[p.Name()] = p
	}
	// Without the index (the informer already started), pods are listed
	// per namespace instead.
	if err := pods.Informer().AddIndexers(cache.Indexers{podClaimIndex: podClaimKeys}); err == nil {
		c.podIndex = pods.Informer().GetIndexer()
	}
	_, _ = claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onClaim, UpdateFunc: func(_, cur any) { c.onClaim(cur) }, DeleteFunc: c.onClaimDelete,
	})
	_, _ = volumes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onVolume, UpdateFunc: func(_, cur any) { c.onVolume(cur) }, DeleteFunc: c.onVolume,
	})
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.onPod, UpdateFunc: func(_, cur any) { c.onPod(cur) }, DeleteFunc: c.onPod,
	})
	return c
}

// Start waits for the caches to sync, then runs workers for claims and as
// many for volumes until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	defer c.claimQueue.ShutDown()
	defer c.volumeQueue.ShutDown()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer b.Shutdown()
	c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
	for name := range c.provisioners {
		c.provRecorders[name] = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: name})
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	workers = max(workers, 1)
	c.log.Info("started", "workers", workers, "provisioners", len(c.provisioners))
	var wg sync.WaitGroup
	run := func(f func(context.Context), period time.Duration) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, f, period)
		}()
	}
	for range workers {
		run(func(ctx context.Context) { c.work(ctx, c.claimQueue, c.syncClaim) }, time.Second)
		run(func(ctx context.Context) { c.work(ctx, c.volumeQueue, c.syncVolume) }, time.Second)
	}
	run(func(context.Context) { c.enqueueAll() }, c.resync)
	<-ctx.Done()
	c.claimQueue.ShutDown()
	c.volumeQueue.ShutDown()
	wg.Wait()
	return nil
}

// work processes keys of q with sync until the queue shuts down.
func (c *Controller) work(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error) {
	for {
		key, quit := q.Get()
		if quit {
			return
		}
		if err := sync(ctx, key); err != nil {
			c.log.Warn("sync failed", "key", key, "err", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

// enqueueAll queues every claim and volume, as upstream's periodic resync.
func (c *Controller) enqueueAll() {
	claims, _ := c.claims.List(labels.Everything())
	for _, cl := range claims {
		c.claimQueue.Add(claimKey(cl.Namespace, cl.Name))
	}
	volumes, _ := c.volumes.List(labels.Everything())
	for _, pv := range volumes {
		c.volumeQueue.Add(pv.Name)
	}
}

// provRecorder returns the recorder for a built-in provisioner's events.
func (c *Controller) provRecorder(name string) record.EventRecorder {
	if r, ok := c.provRecorders[name]; ok {
		return r
	}
	return c.recorder
}

// claimKey is the queue key of a claim: namespace/name.
func claimKey(namespace, name string) string { return namespace + "/" + name }
