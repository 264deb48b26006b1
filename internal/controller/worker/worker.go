// Package worker runs a controller's workqueue: the loop every controller
// here shares (wait for the caches, N workers taking keys, retry failures
// with the queue's rate limit, requeue on request, stop with the context)
// and the event recorder they send through.
package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Recorder starts sending events to the API as component and returns the
// recorder and the function that stops it.
func Recorder(ctx context.Context, client kubernetes.Interface, component string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}), b.Shutdown
}

// Sync handles one key. A positive duration asks for the key again after
// that long; an error retries it with the queue's rate limit.
type Sync func(ctx context.Context, key string) (time.Duration, error)

// Config is one controller's queue and how to work it.
type Config struct {
	Queue   workqueue.TypedRateLimitingInterface[string]
	Workers int
	// Synced are the informers to wait for before the first key.
	Synced []cache.InformerSynced
	Sync   Sync
	Log    *slog.Logger
	// Started, if set, runs once the caches have synced, before the
	// workers (to queue what only a full view reveals).
	Started func()
	// Quiet, if set, says which errors are expected (a sync deferred
	// until the cache catches up): logged at debug level, not as failures.
	Quiet func(error) bool
}

// Run works the queue until ctx ends, then shuts it down and waits for
// the workers. If ctx ends before the caches sync, no worker starts.
func Run(ctx context.Context, cfg Config) {
	defer cfg.Queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), cfg.Synced...) {
		return
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	workers := max(cfg.Workers, 1)
	cfg.Log.Info("started", "workers", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next(ctx, cfg) {
			}
		}()
	}
	<-ctx.Done()
	cfg.Queue.ShutDown()
	wg.Wait()
}

// next handles one key; false once the queue is shut down.
func next(ctx context.Context, cfg Config) bool {
	key, quit := cfg.Queue.Get()
	if quit {
		return false
	}
	defer cfg.Queue.Done(key)
	start := time.Now()
	after, err := cfg.Sync(ctx, key)
	cfg.Log.Debug("synced", "key", key, "duration", time.Since(start))
	switch {
	case err != nil && cfg.Quiet != nil && cfg.Quiet(err):
		cfg.Log.Debug("sync deferred", "key", key, "err", err)
		cfg.Queue.AddRateLimited(key)
	case err != nil:
		cfg.Log.Warn("sync failed", "key", key, "err", err)
		cfg.Queue.AddRateLimited(key)
	default:
		cfg.Queue.Forget(key)
		if after > 0 {
			cfg.Queue.AddAfter(key, after)
		}
	}
	return true
}
