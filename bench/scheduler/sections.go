package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

const (
	namespace = "bench"
	zones     = 10
	creators  = 16 // concurrent Create calls
)

// podKind shapes the pods of a section.
type podKind int

const (
	plain podKind = iota
	spread
	anti
)

func newPod(kind podKind, i int) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "skiff.local/busybox:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi"),
			}},
		}}},
	}
	switch kind {
	case spread:
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bench"}},
		}}
	case anti:
		// Ten groups, each at most one pod per node: 10,000 pods fill
		// 1,000 nodes with ten pods each.
		group := fmt.Sprintf("g%d", i%10)
		p.Labels["group"] = group
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey:   "kubernetes.io/hostname",
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
			}},
		}}
	}
	return p
}

// tracker records when each pod was first seen bound, from a watch.
type tracker struct {
	mu      sync.Mutex
	bound   map[string]time.Time
	nodes   map[string]int
	created map[string]time.Time
	want    int
	done    chan struct{}
}

func track(ctx context.Context, c kubernetes.Interface, want int) (*tracker, error) {
	t := &tracker{bound: map[string]time.Time{}, nodes: map[string]int{}, created: map[string]time.Time{}, want: want, done: make(chan struct{})}
	list, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	w, err := c.CoreV1().Pods(namespace).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, err
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Spec.NodeName == "" {
				continue
			}
			now := time.Now()
			t.mu.Lock()
			if _, seen := t.bound[p.Name]; !seen {
				t.bound[p.Name] = now
				t.nodes[p.Spec.NodeName]++
				if len(t.bound) == t.want {
					close(t.done)
				}
			}
			t.mu.Unlock()
		}
	}()
	return t, nil
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.bound)
}

// createPods creates n pods over creators goroutines, recording when each
// Create call began.
func createPods(ctx context.Context, c kubernetes.Interface, t *tracker, kind podKind, n int) error {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < creators; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				p := newPod(kind, i)
				t.mu.Lock()
				t.created[p.Name] = time.Now()
				t.mu.Unlock()
				if _, err := c.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

func ensureNamespace(ctx context.Context, c kubernetes.Interface) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	return err
}

// throughput creates b.pods pods at once and measures from the first
// Create call to the last binding seen.
func throughput(ctx context.Context, b *bench, kind podKind, label string) ([]benchutil.Result, error) {
	z := 0
	if kind == spread {
		z = zones
	}
	cl, err := startCluster(ctx, b, b.nodes, z)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	if err := ensureNamespace(ctx, cl.client); err != nil {
		return nil, err
	}
	t, err := track(ctx, cl.client, b.pods)
	if err != nil {
		return nil, err
	}
	schedCPU0, serverCPU0, simCPU0 := benchutil.CPUTime(cl.sched.Pid()), benchutil.CPUTime(cl.server.Pid()), benchutil.CPUTime(cl.sim.Pid())
	start := time.Now()
	if err := createPods(ctx, cl.client, t, kind, b.pods); err != nil {
		return nil, fmt.Errorf("create pods: %w", err)
	}
	created := time.Since(start)
	benchutil.Logf("  %d pods created in %v; %d bound so far", b.pods, created.Round(10*time.Millisecond), t.count())
	select {
	case <-t.done:
	case <-time.After(5 * time.Minute):
		return nil, fmt.Errorf("only %d of %d pods bound after 5 minutes; scheduler log:\n%s", t.count(), b.pods, benchutil.Tail(cl.sched.Log.String(), 20))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var last time.Time
	t.mu.Lock()
	for _, at := range t.bound {
		if at.After(last) {
			last = at
		}
	}
	minPer, maxPer := b.pods, 0
	for _, n := range t.nodes {
		minPer, maxPer = min(minPer, n), max(maxPer, n)
	}
	if len(t.nodes) < b.nodes {
		minPer = 0
	}
	t.mu.Unlock()
	elapsed := last.Sub(start)
	schedCPU := benchutil.CPUTime(cl.sched.Pid()) - schedCPU0
	serverCPU := benchutil.CPUTime(cl.server.Pid()) - serverCPU0
	simCPU := benchutil.CPUTime(cl.sim.Pid()) - simCPU0
	how := fmt.Sprintf("%d pods created by %d concurrent clients (all created after %s), %d simulated nodes; first Create call to the last binding seen by a watch",
		b.pods, creators, benchutil.Dur(created), b.nodes)
	return []benchutil.Result{
		{Figure: "throughput, " + label, Value: fmt.Sprintf("%.0f pods/s (%d pods in %s)", float64(b.pods)/elapsed.Seconds(), b.pods, benchutil.Dur(elapsed)), How: how},
		{Figure: "placement, " + label, Value: fmt.Sprintf("%d to %d pods per node", minPer, maxPer), How: "bound pods per node at the end"},
		{Figure: "CPU during the run, " + label, Value: fmt.Sprintf("scheduler %s, server %s, simulated nodes %s", benchutil.Dur(schedCPU), benchutil.Dur(serverCPU), benchutil.Dur(simCPU)),
			How: "utime+stime of each process from first create to the end of the section's wait"},
	}, nil
}

func runPlain(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	return throughput(ctx, b, plain, "plain pods")
}

func runSpread(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	return throughput(ctx, b, spread, fmt.Sprintf("zone spread (%d zones)", zones))
}

func runAnti(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	return throughput(ctx, b, anti, "pod anti-affinity")
}

// runLatency creates pods at a steady rate and reports create to bound.
func runLatency(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	cl, err := startCluster(ctx, b, b.nodes, 0)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	if err := ensureNamespace(ctx, cl.client); err != nil {
		return nil, err
	}
	n := b.rate * b.seconds
	t, err := track(ctx, cl.client, n)
	if err != nil {
		return nil, err
	}
	interval := time.Second / time.Duration(b.rate)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p := newPod(plain, i)
		t.mu.Lock()
		t.created[p.Name] = time.Now()
		t.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.client.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	select {
	case <-t.done:
	case <-time.After(2 * time.Minute):
		return nil, fmt.Errorf("only %d of %d pods bound", t.count(), n)
	}
	t.mu.Lock()
	lat := make([]time.Duration, 0, n)
	for name, at := range t.bound {
		lat = append(lat, at.Sub(t.created[name]))
	}
	t.mu.Unlock()
	return []benchutil.Result{{
		Figure: fmt.Sprintf("create to bound at %d pods/s", b.rate),
		Value:  fmt.Sprintf("p50 %s, p99 %s, max %s", benchutil.Dur(benchutil.Median(lat)), benchutil.Dur(benchutil.Percentile(lat, 99)), benchutil.Dur(benchutil.MaxOf(lat))),
		How: fmt.Sprintf("%d pods, one Create call every %s for %d s, %d simulated nodes; from just before each Create call to the watch event showing spec.nodeName",
			n, interval, b.seconds, b.nodes),
	}}, nil
}

// runMemory binds b.memPods pods and reads the scheduler's RSS.
func runMemory(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	cl, err := startCluster(ctx, b, b.nodes, 0)
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	if err := ensureNamespace(ctx, cl.client); err != nil {
		return nil, err
	}
	idle, err := benchutil.MemStatus(cl.sched.Pid())
	if err != nil {
		return nil, err
	}
	t, err := track(ctx, cl.client, b.memPods)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := createPods(ctx, cl.client, t, plain, b.memPods); err != nil {
		return nil, err
	}
	select {
	case <-t.done:
	case <-time.After(10 * time.Minute):
		return nil, fmt.Errorf("only %d of %d pods bound", t.count(), b.memPods)
	}
	benchutil.Logf("  %d pods bound after %v; settling 20 s", b.memPods, time.Since(start).Round(time.Second))
	time.Sleep(20 * time.Second)
	full, err := benchutil.MemStatus(cl.sched.Pid())
	if err != nil {
		return nil, err
	}
	server, _ := benchutil.MemStatus(cl.server.Pid())
	sim, _ := benchutil.MemStatus(cl.sim.Pid())
	return []benchutil.Result{
		{Figure: fmt.Sprintf("scheduler RSS, %d nodes, no pods", b.nodes), Value: idle.String(), How: "`skiff scheduler` process, /proc/PID/status"},
		{Figure: fmt.Sprintf("scheduler RSS, %d nodes, %d pods", b.nodes, b.memPods), Value: full.String(), How: "same, 20 s after the last binding"},
		{Figure: fmt.Sprintf("server RSS, %d nodes, %d pods", b.nodes, b.memPods), Value: server.String(), How: "`skiff server` (API server, etcd, controllers), for scale"},
		{Figure: fmt.Sprintf("simulated nodes RSS, %d nodes, %d pods", b.nodes, b.memPods), Value: sim.String(), How: "`skiff agent --simulate`"},
	}, nil
}
