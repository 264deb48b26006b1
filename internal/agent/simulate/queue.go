package simulate

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// queue is a rate-limited workqueue of keys served by a fixed pool of
// workers: a key is never synced by two workers at once, and a failed
// sync is retried with per-key exponential back-off.
type queue[T comparable] struct {
	name string
	q    workqueue.TypedRateLimitingInterface[T]
	// sync handles a key; a positive duration asks to sync it again then.
	sync func(context.Context, T) (time.Duration, error)
}

func newQueue[T comparable](name string, base, maxDelay time.Duration, sync func(context.Context, T) (time.Duration, error)) *queue[T] {
	return &queue[T]{name: name, sync: sync, q: workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[T](base, maxDelay),
		workqueue.TypedRateLimitingQueueConfig[T]{Name: name})}
}

// run starts n workers that stop when the queue shuts down.
func (q *queue[T]) run(ctx context.Context, wg *sync.WaitGroup, n int, log *slog.Logger) {
	for range n {
		wg.Go(func() {
			for q.next(ctx, log) {
			}
		})
	}
}

// retriesBeforeWarning is how many failures of one key are logged at
// debug level before one warning.
const retriesBeforeWarning = 5

func (q *queue[T]) next(ctx context.Context, log *slog.Logger) bool {
	key, shutdown := q.q.Get()
	if shutdown {
		return false
	}
	defer q.q.Done(key)
	after, err := q.sync(ctx, key)
	if err != nil {
		if ctx.Err() != nil {
			return true
		}
		level := slog.LevelDebug
		if q.q.NumRequeues(key) == retriesBeforeWarning {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "simulated sync failed", "queue", q.name, "key", key, "err", err)
		q.q.AddRateLimited(key)
		return true
	}
	q.q.Forget(key)
	if after > 0 {
		q.q.AddAfter(key, after)
	}
	return true
}
