package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/test/images"
)

const (
	// benchNS holds the pods; it exists from the start.
	benchNS    = "default"
	benchLabel = "app=skiff-bench"
	seqRuns    = 20
	burstPods  = 30
	// podTimeout bounds one pod's start or deletion.
	podTimeout = 60 * time.Second
	// burstTimeout bounds the start or deletion of the whole burst.
	burstTimeout = 3 * time.Minute
	opTimeout    = 30 * time.Second
)

// benchPod is one busybox container sleeping, deleted without grace. The
// image is never pulled: it is imported at the node's start.
func benchPod(name, node string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS, Labels: map[string]string{"app": "skiff-bench"}},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "sleep", Image: images.Busybox, Command: []string{"sleep", "3600"},
				ImagePullPolicy: corev1.PullNever}},
		},
	}
}

// started is one pod's start, as the client saw it.
type started struct {
	name string
	// sent is just before the Create call, returned just after it.
	sent, returned time.Time
}

// createPod creates the pod and times the call.
func createPod(ctx context.Context, c kubernetes.Interface, name, node string) (started, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	s := started{name: name, sent: time.Now()}
	_, err := c.CoreV1().Pods(benchNS).Create(cctx, benchPod(name, node), metav1.CreateOptions{})
	s.returned = time.Now()
	if err != nil {
		return s, fmt.Errorf("create pod %s: %w", name, err)
	}
	return s, nil
}

func deletePod(ctx context.Context, c kubernetes.Interface, name string) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := c.CoreV1().Pods(benchNS).Delete(cctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete pod %s: %w", name, err)
	}
	return nil
}

// latencies are the start-up latencies of a set of pods.
type latencies struct {
	// sli is creationTimestamp to first observed running, as the
	// upstream SLI; creationTimestamp has whole seconds, so these read up
	// to 1 s high.
	sli []time.Duration
	// client is the Create call's start to first observed running.
	client []time.Duration
	// call is the Create call's own latency.
	call []time.Duration
}

func (l *latencies) add(s started, pt podTimes) {
	l.sli = append(l.sli, pt.running.Sub(pt.created))
	l.client = append(l.client, pt.running.Sub(s.sent))
	l.call = append(l.call, s.returned.Sub(s.sent))
}

// seqRun is one pod of the sequential runs.
type seqRun struct {
	started
	times podTimes
	// cpu is what the node used from the Create call to Running.
	cpu cpuSample
	// gone is the Delete call to the DELETED event; teardown is the
	// Delete call to the node having removed the sandbox (and its shim
	// having exited).
	gone, teardown time.Duration
}

// runOne creates a pod, waits until it runs, deletes it and waits until
// it is gone from the API and from containerd.
func runOne(ctx context.Context, n *node, t *tracker, name string) (seqRun, error) {
	var r seqRun
	c0 := n.sampleCPU()
	s, err := createPod(ctx, n.client, name, n.name)
	if err != nil {
		return r, err
	}
	if err := t.wait(ctx, podTimeout, "running", []string{name}, isRunning); err != nil {
		return r, err
	}
	r.cpu = n.sampleCPU().sub(c0)
	r.started, r.times = s, t.get(name)
	del := time.Now()
	if err := deletePod(ctx, n.client, name); err != nil {
		return r, err
	}
	if err := t.wait(ctx, podTimeout, "gone", []string{name}, isGone); err != nil {
		return r, err
	}
	r.times = t.get(name)
	r.gone = r.times.gone.Sub(del)
	if err := n.waitTornDown(ctx); err != nil {
		return r, err
	}
	r.teardown = time.Since(del)
	return r, nil
}

// runSeq starts seqRuns pods one at a time: create, wait until running,
// delete, wait until gone; the next starts on an idle node.
func runSeq(ctx context.Context, b *bench) (rows []benchutil.Result, err error) {
	n, err := startNode(ctx, b)
	if err != nil {
		return nil, err
	}
	defer n.finish(&err)
	t, err := startTracker(ctx, n.client)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	var lat latencies
	var gone, teardown []time.Duration
	var starts []started
	var cpu cpuSample
	for i := 0; i < seqRuns; i++ {
		r, err := runOne(ctx, n, t, fmt.Sprintf("seq-%02d", i))
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		lat.add(r.started, r.times)
		starts = append(starts, r.started)
		cpu = cpu.add(r.cpu)
		gone = append(gone, r.gone)
		teardown = append(teardown, r.teardown)
		benchutil.Logf("  pod %s: running after %s (create call %s); node done with it %s after the delete",
			r.name, benchutil.Dur(r.times.running.Sub(r.sent)), benchutil.Dur(r.returned.Sub(r.sent)), benchutil.Dur(r.teardown))
	}
	label := fmt.Sprintf("1 pod at a time (%d runs)", seqRuns)
	rows = latencyRows(label, lat, fmt.Sprintf("runs in order: %s", benchutil.Durs(lat.client)))
	rows = append(rows, breakdownRows(label, n, t, starts)...)
	return append(rows,
		benchutil.Result{Figure: "CPU per pod start, " + label, Value: cpu.split(seqRuns),
			How: "mean over the runs, Create call to Running: utime+stime (and children's) from /proc; whole node from the cpuacct cgroups"},
		benchutil.Result{Figure: "delete to gone from the API, " + label, Value: p50p99max(gone),
			How: "Delete call to the watch's DELETED event: with grace period 0 the API removes the pod at once, as upstream's does"},
		benchutil.Result{Figure: "delete to sandbox removed, " + label, Value: p50p99max(teardown),
			How: "Delete call until containerd lists no sandbox and the pod's shim has exited (polled every 10 ms via CRI); the next pod starts only then"},
	), nil
}

// finish cleans the node up and joins any failure of that to *err.
func (n *node) finish(err *error) {
	if cerr := n.cleanup(); cerr != nil {
		if *err == nil {
			*err = cerr
		} else {
			*err = fmt.Errorf("%w; and %w", *err, cerr)
		}
	}
}

// startBurst creates burstPods pods at once (one goroutine each) and waits
// until all are running.
func startBurst(ctx context.Context, n *node, t *tracker) ([]started, error) {
	starts := make([]started, burstPods)
	errs := make([]error, burstPods)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			starts[i], errs[i] = createPod(ctx, n.client, fmt.Sprintf("burst-%02d", i), n.name)
		}()
	}
	wg.Wait()
	names := make([]string, burstPods)
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		names[i] = starts[i].name
	}
	if err := t.wait(ctx, burstTimeout, "running", names, isRunning); err != nil {
		return nil, err
	}
	return starts, nil
}

// burstRows are the burst's start-up figures.
func burstRows(n *node, t *tracker, starts []started) []benchutil.Result {
	var lat latencies
	first, last := starts[0].sent, time.Time{}
	for _, s := range starts {
		pt := t.get(s.name)
		lat.add(s, pt)
		if s.sent.Before(first) {
			first = s.sent
		}
		if pt.running.After(last) {
			last = pt.running
		}
	}
	label := fmt.Sprintf("%d pods created at once", burstPods)
	rows := latencyRows(label, lat, fmt.Sprintf("%d concurrent Create calls (one goroutine each, one client); all %d running %s after the first call",
		burstPods, burstPods, benchutil.Dur(last.Sub(first))))
	return append(rows, breakdownRows(label, n, t, starts)...)
}

// deleteAll deletes the pods at once and times until all are gone.
func deleteAll(ctx context.Context, n *node, t *tracker, starts []started) (benchutil.Result, error) {
	t0 := time.Now()
	errs := make([]error, len(starts))
	var wg sync.WaitGroup
	names := make([]string, len(starts))
	for i, s := range starts {
		names[i] = s.name
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = deletePod(ctx, n.client, s.name) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return benchutil.Result{}, err
		}
	}
	if err := t.wait(ctx, burstTimeout, "gone", names, isGone); err != nil {
		return benchutil.Result{}, err
	}
	return benchutil.Result{Figure: fmt.Sprintf("delete %d pods at once, until all gone", len(starts)), Value: benchutil.Dur(time.Since(t0)),
		How: "concurrent Delete calls (grace period 0) to the last DELETED event"}, nil
}

// latencyRows gives the SLI-style and client-side start-up latencies.
func latencyRows(label string, l latencies, runs string) []benchutil.Result {
	return []benchutil.Result{
		{Figure: "pod start-up, " + label + ": create call to Running", Value: p50p99max(l.client),
			How: "from just before the Create call to the first watch event with phase Running and every container running (client-go watch, same clock); " + runs},
		{Figure: "pod start-up, " + label + ": SLI (creationTimestamp to Running)", Value: p50p99max(l.sli),
			How: "upstream's pod start-up SLI: creationTimestamp to the watch event; creationTimestamp has whole seconds, so each value reads 0-1 s high"},
		{Figure: "Create call, " + label, Value: p50p99max(l.call), How: "client-side latency of the Create calls alone"},
	}
}

func p50p99max(ds []time.Duration) string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s", benchutil.Dur(benchutil.Percentile(ds, 50)),
		benchutil.Dur(benchutil.Percentile(ds, 99)), benchutil.Dur(benchutil.MaxOf(ds)))
}
