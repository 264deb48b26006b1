package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

const (
	watchers     = 100
	burst        = 1000
	burstWriters = 10
	watchTimeout = 3 * time.Minute
	burstPrefix  = "burst-"
)

// watcherResult is what one watcher saw.
type watcherResult struct {
	lats  []time.Duration
	count int
	done  time.Time
	err   error
}

// burstClock records, per ConfigMap index, when its create was sent, as
// nanoseconds since base on the monotonic clock.
type burstClock struct {
	base time.Time
	sent []atomic.Int64
}

// consume reads w until it has seen every create of the burst, the watch
// ends, or ctx ends.
func consume(ctx context.Context, w watch.Interface, clk *burstClock) watcherResult {
	defer w.Stop()
	var r watcherResult
	seen := make([]bool, burst)
	for r.count < burst {
		select {
		case <-ctx.Done():
			r.err = fmt.Errorf("timed out after %d of %d events", r.count, burst)
			return r
		case ev, ok := <-w.ResultChan():
			if !ok {
				r.err = fmt.Errorf("watch closed by the server after %d of %d events", r.count, burst)
				return r
			}
			now := time.Now()
			if ev.Type == watch.Error {
				r.err = fmt.Errorf("watch error after %d events: %v", r.count, ev.Object)
				return r
			}
			cm, isCM := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Added || !isCM || !strings.HasPrefix(cm.Name, burstPrefix) {
				continue
			}
			i, err := strconv.Atoi(strings.TrimPrefix(cm.Name, burstPrefix))
			if err != nil || i < 0 || i >= burst || seen[i] {
				continue
			}
			seen[i] = true
			r.count++
			r.lats = append(r.lats, now.Sub(clk.base)-time.Duration(clk.sent[i].Load()))
			r.done = now
		}
	}
	return r
}

// startWatches opens one watch per client from resourceVersion rv.
func startWatches(ctx context.Context, clients []*kubernetes.Clientset, rv string) ([]watch.Interface, error) {
	ws := make([]watch.Interface, len(clients))
	_, _, err := parallel(ctx, len(clients), len(clients), func(_ context.Context, _, i int) error {
		var err error
		// ctx, not the per-call context: the watch outlives this call.
		ws[i], err = clients[i].CoreV1().ConfigMaps(benchNS).Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		return err
	})
	if err != nil {
		for _, w := range ws {
			if w != nil {
				w.Stop()
			}
		}
		return nil, err
	}
	return ws, nil
}

// burstWrite creates the burst's ConfigMaps from the writers, recording
// each send time before the call and carrying it in the data too.
func burstWrite(ctx context.Context, writers []*kubernetes.Clientset, clk *burstClock) (time.Duration, error) {
	_, elapsed, err := parallel(ctx, len(writers), burst, func(ctx context.Context, w, i int) error {
		cm := configMap(fmt.Sprintf("%s%04d", burstPrefix, i))
		now := time.Now()
		cm.Data["sentUnixNano"] = strconv.FormatInt(now.UnixNano(), 10)
		clk.sent[i].Store(int64(now.Sub(clk.base)))
		_, err := writers[w].CoreV1().ConfigMaps(benchNS).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
	return elapsed, err
}

// runWatch opens 100 watches and measures the delivery of a 1,000-create
// burst to every one of them.
func runWatch(ctx context.Context, b *bench) ([]result, error) {
	p, err := startServer(ctx, b.skiff, 60*time.Second)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	clients, err := p.clients(watchers+burstWriters, nil)
	if err != nil {
		return nil, err
	}
	if err := setup(ctx, clients...); err != nil {
		return nil, err
	}
	writers, watching := clients[:burstWriters], clients[burstWriters:]
	lctx, cancel := context.WithTimeout(ctx, opTimeout)
	l, err := writers[0].CoreV1().ConfigMaps(benchNS).List(lctx, metav1.ListOptions{})
	cancel()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, watchTimeout)
	defer cancel()
	ws, err := startWatches(wctx, watching, l.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("start watches: %w", err)
	}
	benchutil.Logf("  %d watches open from resourceVersion %s; writing %d ConfigMaps with %d clients", len(ws), l.ResourceVersion, burst, burstWriters)
	pid := p.cmd.Process.Pid
	srvCPU0, selfCPU0 := benchutil.CPUTime(pid), benchutil.CPUTime(os.Getpid())
	clk := &burstClock{base: time.Now(), sent: make([]atomic.Int64, burst)}
	results := make([]watcherResult, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = consume(wctx, w, clk) }()
	}
	writeTime, werr := burstWrite(wctx, writers, clk)
	if werr != nil {
		cancel()
	}
	wg.Wait()
	srvCPU, selfCPU := benchutil.CPUTime(pid)-srvCPU0, benchutil.CPUTime(os.Getpid())-selfCPU0
	if werr != nil {
		return nil, fmt.Errorf("burst writes: %w", werr)
	}
	rows, err := watchRows(results, clk, writeTime, srvCPU, selfCPU)
	return append(rows, p.memRows(fmt.Sprintf("watch burst (%d watchers open)", watchers))...), err
}

// watchRows summarises the watchers' results; the error is set when any
// watcher missed events.
func watchRows(results []watcherResult, clk *burstClock, writeTime, srvCPU, selfCPU time.Duration) ([]result, error) {
	var lats []time.Duration
	total := 0
	var last time.Time
	var errs []string
	for i, r := range results {
		lats = append(lats, r.lats...)
		total += r.count
		if r.done.After(last) {
			last = r.done
		}
		if r.err != nil {
			errs = append(errs, fmt.Sprintf("watcher %d: %v", i, r.err))
		}
	}
	want := watchers * burst
	check := fmt.Sprintf("OK: %d = %d x %d", total, watchers, burst)
	var err error
	if total != want || len(errs) > 0 {
		check = fmt.Sprintf("**FAILED: %d of %d events delivered; %d watchers failed**", total, want, len(errs))
		errs = append(errs, "(no watcher reported an error)")
		err = fmt.Errorf("watch fan-out lost events: %d of %d; first: %s", total, want, errs[0])
		fmt.Fprintf(os.Stderr, "\n!!! WATCH FAN-OUT FAILED: %d of %d events delivered !!!\n%s\n\n", total, want, strings.Join(errs[:min(len(errs), 10)], "\n"))
	}
	how := fmt.Sprintf("%d client-go Watches (JSON, each its own connection) on ConfigMaps in one namespace from the current resourceVersion; %d creates from %d concurrent clients", watchers, burst, burstWriters)
	return []result{
		{"watch fan-out: events delivered", check, how},
		{"watch fan-out: delivery latency", fmt.Sprintf("%s, max %s", p50p99(lats), benchutil.Dur(benchutil.MaxOf(lats))),
			"per event and watcher: time the watcher's goroutine got the decoded event minus the time taken just before the Create call was sent (monotonic clock, same process)"},
		{"watch fan-out: burst of creates", fmt.Sprintf("%s (%s)", benchutil.Dur(writeTime), rate(burst, writeTime)), "wall time of the 1,000 creates while 100 watches are open"},
		{"watch fan-out: until all watchers saw all events", benchutil.Dur(last.Sub(clk.base)), "first create sent to the last watcher receiving its 1,000th event"},
		{"watch fan-out: CPU during the burst", fmt.Sprintf("server %s, bench client %s", benchutil.Dur(srvCPU), benchutil.Dur(selfCPU)),
			"utime+stime of the server and of this bench process (which decodes 100,000 JSON events) over the burst; both share the 2 cores"},
	}, err
}
