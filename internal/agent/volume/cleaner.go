package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/volume/localpath"
)

// pvProtection is the finalizer the volume controller keeps on a volume
// while it is bound.
const pvProtection = "kubernetes.io/pv-protection"

// CleanerConfig configures a Cleaner.
type CleanerConfig struct {
	// Client watches PersistentVolumes and removes their finalizer.
	Client kubernetes.Interface
	// Hostname is the node's kubernetes.io/hostname label, which
	// local-path volumes are pinned to (normally the node name).
	Hostname string
	// StorageRoot is where this node's local-path volumes live:
	// <agent data dir>/storage, as published in the node's
	// skiff.io/storage-root annotation.
	StorageRoot string
	// Resync is how often every volume is looked at again (so failed
	// removals are retried); a minute when zero.
	Resync time.Duration
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
}

// Cleaner is the node side of local-path volume deletion. When a
// local-path volume pinned to this node is deleted and no longer bound
// (its pv-protection finalizer is gone), it removes the volume's
// directory (reclaim policy Delete; other policies keep the data) and then
// the skiff.io/local-path-cleanup finalizer, which lets the object go.
type Cleaner struct {
	cfg    CleanerConfig
	log    *slog.Logger
	queue  workqueue.TypedRateLimitingInterface[string]
	lister corelisters.PersistentVolumeLister
}

// NewCleaner checks the configuration and returns a Cleaner; Run starts
// it.
func NewCleaner(cfg CleanerConfig) (*Cleaner, error) {
	if cfg.Client == nil || cfg.Hostname == "" || cfg.StorageRoot == "" {
		return nil, errors.New("volume: cleaner needs a client, a hostname and a storage root")
	}
	if cfg.Resync == 0 {
		cfg.Resync = time.Minute
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cleaner{cfg: cfg, log: log.With("component", "local-path-cleaner")}, nil
}

// Run watches volumes until ctx ends.
func (c *Cleaner) Run(ctx context.Context) error {
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "local-path-cleanup"})
	factory := informers.NewSharedInformerFactory(c.cfg.Client, c.cfg.Resync)
	inf := factory.Core().V1().PersistentVolumes()
	c.lister = inf.Lister()
	enqueue := func(obj any) {
		if pv, ok := obj.(*corev1.PersistentVolume); ok && c.due(pv) {
			c.queue.Add(pv.Name)
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, cur any) { enqueue(cur) },
	})
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer c.queue.ShutDown()
	stop := context.AfterFunc(ctx, c.queue.ShutDown)
	defer stop()
	if !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		return nil
	}
	for c.next(ctx) {
	}
	return nil
}

func (c *Cleaner) next(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	if err := c.clean(ctx, name); err != nil {
		c.log.Warn("cleaning up local-path volume", "volume", name, "err", err)
		c.queue.AddRateLimited(name)
		return true
	}
	c.queue.Forget(name)
	return true
}

// due says the volume is this node's local-path volume, deleted, unbound
// and still holding the cleanup finalizer.
func (c *Cleaner) due(pv *corev1.PersistentVolume) bool {
	return pv.DeletionTimestamp != nil && pv.Spec.Local != nil && localpath.IsProvisioned(pv) &&
		localpath.NodeOf(pv) == c.cfg.Hostname &&
		slices.Contains(pv.Finalizers, localpath.CleanupFinalizer) && !slices.Contains(pv.Finalizers, pvProtection)
}

// clean removes a due volume's directory and then its finalizer.
func (c *Cleaner) clean(ctx context.Context, name string) error {
	pv, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || !c.due(pv) {
		return err
	}
	path := pv.Spec.Local.Path
	if pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
		err := removeVolumeDir(c.cfg.StorageRoot, path)
		var outside *outsideRootError
		switch {
		case errors.As(err, &outside):
			c.log.Warn("not removing a directory outside the storage root", "volume", name, "path", path)
		case err != nil:
			return err
		default:
			c.log.Info("removed local-path volume directory", "volume", name, "path", path)
		}
	}
	next := pv.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == localpath.CleanupFinalizer })
	_, err = c.cfg.Client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing %s: %w", localpath.CleanupFinalizer, err)
	}
	return nil
}

// removeVolumeDir removes a local-path volume's directory, which must be
// directly inside root and have nothing mounted in it. A directory that
// is not there is already removed.
func removeVolumeDir(root, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	dir, err := insideRoot(root, path)
	if err != nil {
		return err
	}
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(points) > 0 {
		return fmt.Errorf("volume directory %s still has mounts: %s", dir, strings.Join(points, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing volume directory: %w", err)
	}
	return nil
}
