package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// podTimes is what the watch saw of one pod, in the bench's clock (the
// server runs on the same machine).
type podTimes struct {
	// created is the pod's creationTimestamp (whole seconds).
	created time.Time
	// running is when the watch first delivered the pod Running with
	// every container running.
	running time.Time
	// gone is when the watch delivered its deletion.
	gone time.Time
}

// tracker follows the bench's pods with a client-go watch and records
// when each was first seen running and when it was deleted.
type tracker struct {
	mu      sync.Mutex
	pods    map[string]*podTimes
	changed chan struct{} // closed and replaced at every change
	err     error         // why the watch ended early
	stop    context.CancelFunc
}

// startTracker lists the bench's pods and watches them from the list's
// resourceVersion (a RetryWatcher, which resumes after a dropped watch).
func startTracker(ctx context.Context, c kubernetes.Interface) (*tracker, error) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := c.CoreV1().Pods(benchNS).List(lctx, metav1.ListOptions{LabelSelector: benchLabel})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	wctx, stop := context.WithCancel(ctx)
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector = benchLabel
		return c.CoreV1().Pods(benchNS).Watch(ctx, o)
	}}
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, l.ResourceVersion, lw)
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	t := &tracker{pods: map[string]*podTimes{}, changed: make(chan struct{}), stop: stop}
	go t.run(wctx, rw)
	return t, nil
}

// run records the events until the watch ends.
func (t *tracker) run(ctx context.Context, rw *watchtools.RetryWatcher) {
	defer rw.Stop()
	for ev := range rw.ResultChan() {
		now := time.Now()
		if ev.Type == watch.Error {
			t.update(func() { t.err = fmt.Errorf("watch error: %v", ev.Object) })
			return
		}
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		t.update(func() {
			pt := t.pods[pod.Name]
			if pt == nil {
				pt = &podTimes{created: pod.CreationTimestamp.Time}
				t.pods[pod.Name] = pt
			}
			if ev.Type == watch.Deleted {
				pt.gone = now
			} else if pt.running.IsZero() && allRunning(pod) {
				pt.running = now
			}
		})
	}
	if ctx.Err() == nil {
		t.update(func() { t.err = fmt.Errorf("watch closed") })
	}
}

// allRunning says the pod is Running with every container running, as
// the upstream pod start-up SLI counts a pod started.
func allRunning(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

func (t *tracker) update(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f()
	close(t.changed)
	t.changed = make(chan struct{})
}

// get returns a copy of what was recorded for name.
func (t *tracker) get(name string) podTimes {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pt := t.pods[name]; pt != nil {
		return *pt
	}
	return podTimes{}
}

// wait blocks until done holds for every name, the watch fails, ctx ends
// or timeout passes.
func (t *tracker) wait(ctx context.Context, timeout time.Duration, what string, names []string, done func(podTimes) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		pending, changed, err := 0, t.changed, t.err
		for _, name := range names {
			if pt := t.pods[name]; pt == nil || !done(*pt) {
				pending++
			}
		}
		t.mu.Unlock()
		switch {
		case pending == 0:
			return nil
		case err != nil:
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d of %d pods %s: %w", pending, len(names), what, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%d of %d pods not %s after %s", pending, len(names), what, timeout)
		}
	}
}

func isRunning(pt podTimes) bool { return !pt.running.IsZero() }
func isGone(pt podTimes) bool    { return !pt.gone.IsZero() }
