package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// TestRun: keys are synced, a failing key is retried until it succeeds, a
// requeue request brings the key back, and Run returns when ctx ends.
func TestRun(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond))
	var mu sync.Mutex
	seen := map[string]int{}
	started := false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Config{Queue: q, Workers: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Started: func() { started = true },
			Sync: func(_ context.Context, key string) (time.Duration, error) {
				mu.Lock()
				defer mu.Unlock()
				seen[key]++
				switch {
				case key == "flaky" && seen[key] < 3:
					return 0, errors.New("not yet")
				case key == "again" && seen[key] < 2:
					return time.Millisecond, nil
				}
				return 0, nil
			}})
	}()
	for _, k := range []string{"a", "flaky", "again"} {
		q.Add(k)
	}
	for {
		mu.Lock()
		ok := seen["a"] == 1 && seen["flaky"] == 3 && seen["again"] == 2
		mu.Unlock()
		if ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("keys synced %v", seen)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	if !started || !q.ShuttingDown() {
		t.Errorf("started %v, queue shut down %v", started, q.ShuttingDown())
	}
}
