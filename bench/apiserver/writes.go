package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// benchNS is the namespace every section writes to.
const benchNS = "bench"

// opTimeout bounds one API call.
const opTimeout = 30 * time.Second

const (
	seqCreates  = 2000
	concClients = 32
	concCreates = 10000
	gets        = 2000
	warmups     = 100
)

// parallel runs op for i in [0, total) on workers goroutines, each call
// bounded by opTimeout, and returns every call's latency and the wall
// time. The first error stops all workers.
func parallel(ctx context.Context, workers, total int, op func(ctx context.Context, w, i int) error) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	lats := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				octx, ocancel := context.WithTimeout(ctx, opTimeout)
				t0 := time.Now()
				err := op(octx, w, i)
				lats[w] = append(lats[w], time.Since(t0))
				ocancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("op %d: %w", i, err)
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return all, elapsed, firstErr
}

// setup creates the bench namespace and opens a connection from every
// client (a GET of the namespace), so timings exclude TLS handshakes.
func setup(ctx context.Context, clients ...*kubernetes.Clientset) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}
	if _, err := clients[0].CoreV1().Namespaces().Create(cctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	_, _, err := parallel(ctx, len(clients), len(clients), func(ctx context.Context, _, i int) error {
		_, err := clients[i].CoreV1().Namespaces().Get(ctx, benchNS, metav1.GetOptions{})
		return err
	})
	return err
}

// configMap is a small ConfigMap (about 300 bytes stored).
func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS, Labels: map[string]string{"app": "bench", "tier": "load"}},
		Data:       map[string]string{"key": name, "payload": strings.Repeat("x", 64)},
	}
}

// createConfigMaps creates total ConfigMaps named prefix-NNNNN spread over
// the clients (one worker per client).
func createConfigMaps(ctx context.Context, clients []*kubernetes.Clientset, prefix string, total int) ([]time.Duration, time.Duration, error) {
	return parallel(ctx, len(clients), total, func(ctx context.Context, w, i int) error {
		_, err := clients[w].CoreV1().ConfigMaps(benchNS).Create(ctx, configMap(fmt.Sprintf("%s-%05d", prefix, i)), metav1.CreateOptions{})
		return err
	})
}

// runWrites measures ConfigMap creates with one client, then with 32
// concurrent clients (each its own connection).
func runWrites(ctx context.Context, b *bench) ([]result, error) {
	p, err := startServer(ctx, b.skiff, 60*time.Second)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	clients, err := p.clients(concClients, nil)
	if err != nil {
		return nil, err
	}
	if err := setup(ctx, clients...); err != nil {
		return nil, err
	}
	if _, _, err := createConfigMaps(ctx, clients[:1], "warm", warmups); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	pid := p.cmd.Process.Pid
	var rows []result
	for _, phase := range []struct {
		clients, total int
		prefix         string
	}{{1, seqCreates, "one"}, {concClients, concCreates, "many"}} {
		benchutil.Logf("  %d creates with %d client(s)", phase.total, phase.clients)
		cpu0 := benchutil.CPUTime(pid)
		lats, elapsed, err := createConfigMaps(ctx, clients[:phase.clients], phase.prefix, phase.total)
		if err != nil {
			return rows, fmt.Errorf("%d clients: %w", phase.clients, err)
		}
		cpu := benchutil.CPUTime(pid) - cpu0
		who := clientsLabel(phase.clients)
		how := fmt.Sprintf("%d typed-client ConfigMap creates (~300 B each) from %s, each client its own HTTP/2 connection, no client throttling; after %d warm-up creates", phase.total, who, warmups)
		rows = append(rows,
			result{"create ConfigMap, " + who + ": throughput", rate(phase.total, elapsed), how + fmt.Sprintf("; wall time %s", benchutil.Dur(elapsed))},
			result{"create ConfigMap, " + who + ": latency", p50p99(lats), "per Create call, client side"},
			result{"create ConfigMap, " + who + ": server CPU", cpuPer(cpu, phase.total), "server utime+stime from /proc/PID/stat over the phase"},
		)
	}
	return append(rows, p.memRows(fmt.Sprintf("writes (%d ConfigMaps)", warmups+seqCreates+concCreates))...), nil
}

func clientsLabel(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d concurrent clients", n)
}

// runGet measures sequential gets of one ConfigMap.
func runGet(ctx context.Context, b *bench) ([]result, error) {
	p, err := startServer(ctx, b.skiff, 60*time.Second)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	clients, err := p.clients(1, nil)
	if err != nil {
		return nil, err
	}
	c := clients[0]
	if err := setup(ctx, c); err != nil {
		return nil, err
	}
	if _, _, err := createConfigMaps(ctx, clients, "target", 1); err != nil {
		return nil, err
	}
	get := func(ctx context.Context, _, _ int) error {
		_, err := c.CoreV1().ConfigMaps(benchNS).Get(ctx, "target-00000", metav1.GetOptions{})
		return err
	}
	if _, _, err := parallel(ctx, 1, warmups, get); err != nil {
		return nil, err
	}
	cpu0 := benchutil.CPUTime(p.cmd.Process.Pid)
	lats, elapsed, err := parallel(ctx, 1, gets, get)
	if err != nil {
		return nil, err
	}
	cpu := benchutil.CPUTime(p.cmd.Process.Pid) - cpu0
	return []result{
		{"get one ConfigMap: latency", p50p99(lats),
			fmt.Sprintf("%d sequential typed-client Gets of one object by name (%s), after %d warm-up gets", gets, rate(gets, elapsed), warmups)},
		{"get one ConfigMap: server CPU", cpuPer(cpu, gets), "server utime+stime over the gets"},
	}, nil
}
