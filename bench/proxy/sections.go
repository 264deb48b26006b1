package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/internal/network/proxy"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// dist is "median, p95, max" of ds.
func dist(ds []time.Duration) string {
	return fmt.Sprintf("median %s, p95 %s, max %s", benchutil.Dur(benchutil.Median(ds)),
		benchutil.Dur(benchutil.Percentile(ds, 95)), benchutil.Dur(benchutil.MaxOf(ds)))
}

func row(figure, value, how string) benchutil.Result {
	return benchutil.Result{Figure: figure, Value: value, How: how}
}

func (b *bench) size() string {
	return fmt.Sprintf("%d Services x %d endpoints", b.services, b.endpoints)
}

// newSyncer returns a Syncer over a fresh namespace holding the full
// table, and a clean-up func.
func (b *bench) newSyncer(role string) (*proxy.Syncer, func(), error) {
	ns, err := newNetns(role)
	if err != nil {
		return nil, nil, err
	}
	s, err := proxy.NewSyncer(proxy.Config{NetNS: ns.fd, ClusterCIDR: clusterCIDR, Log: quiet})
	if err != nil {
		ns.close()
		return nil, nil, err
	}
	stageAll(s, b.services, b.endpoints)
	if _, err := s.Sync(); err != nil {
		ns.close()
		return nil, nil, err
	}
	return s, func() { _ = s.Close(); ns.close() }, nil
}

func runSync(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	ns, err := newNetns("sync")
	if err != nil {
		return nil, err
	}
	defer ns.close()
	var first proxy.SyncStats
	var stage, replace []time.Duration
	for round := range 6 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s, err := proxy.NewSyncer(proxy.Config{NetNS: ns.fd, ClusterCIDR: clusterCIDR, Log: quiet})
		if err != nil {
			return nil, err
		}
		start := time.Now()
		stageAll(s, b.services, b.endpoints)
		stage = append(stage, time.Since(start))
		st, err := s.Sync()
		if err != nil {
			return nil, err
		}
		if round == 0 {
			first = st
		} else {
			replace = append(replace, st.Duration)
		}
		benchutil.Logf("full sync %d: %s, %d messages, %d bytes", round, st.Duration, st.Messages, st.Bytes)
	}
	return []benchutil.Result{
		row("full sync into an empty namespace", benchutil.Dur(first.Duration),
			fmt.Sprintf("%s: Syncer.Sync, diff + encode + one netlink transaction of %d messages, %.1f MiB", b.size(), first.Messages, float64(first.Bytes)/(1<<20))),
		row("full sync replacing the full table", dist(replace),
			"same, a new Syncer over the existing table (what a restart does): of 5"),
		row("building the model from the API objects", dist(stage),
			"Syncer.SetService for every Service and its EndpointSlice (objects generated on the fly)"),
	}, nil
}

// gap separates the timed changes, as MinSyncPeriod separates syncs.
const gap = 50 * time.Millisecond

func runChange(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	s, done, err := b.newSyncer("change")
	if err != nil {
		return nil, err
	}
	defer done()
	gen := make([]int, b.services)
	var times, kernel []time.Duration
	var msgs, bytes []int
	for k := range b.changes {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		i := (k * 37) % b.services
		gen[i]++
		s.SetService(service(i), []*discoveryv1.EndpointSlice{slice(i, b.endpoints, gen[i])})
		st, err := s.Sync()
		if err != nil {
			return nil, err
		}
		times, kernel = append(times, st.Duration), append(kernel, st.Kernel)
		msgs, bytes = append(msgs, st.Messages), append(bytes, st.Bytes)
		time.Sleep(gap)
	}
	grow, err := growShrink(s, b, 10)
	if err != nil {
		return nil, err
	}
	add, del, err := addDelete(s, b, 10)
	if err != nil {
		return nil, err
	}
	return []benchutil.Result{
		row("one endpoint changed", dist(times),
			fmt.Sprintf("%s in the table; Syncer.Sync after one Service's slice swapped an endpoint: of %d", b.size(), b.changes)),
		row("  of which the netlink transaction", dist(kernel), "sendmsg until the kernel's acknowledgement"),
		row("netlink transaction per change", fmt.Sprintf("%d messages, %d bytes (median)", median(msgs), median(bytes)),
			"delete and add in the Service's pick map and the hairpin set; no chain or rule touched"),
		row("one endpoint added or removed", dist(grow), "the Service's chain rewritten (its numgen modulus changes): of 10"),
		row("one Service added", dist(add), "of 10"),
		row("one Service deleted", dist(del), "of 10"),
	}, nil
}

// growShrink adds an endpoint to a Service and takes it away again.
func growShrink(s *proxy.Syncer, b *bench, n int) ([]time.Duration, error) {
	var out []time.Duration
	for k := range n {
		i := (k * 41) % b.services
		for _, m := range []int{b.endpoints + 1, b.endpoints} {
			s.SetService(service(i), []*discoveryv1.EndpointSlice{slice(i, m, 0)})
			st, err := s.Sync()
			if err != nil {
				return nil, err
			}
			out = append(out, st.Duration)
			time.Sleep(gap)
		}
	}
	return out, nil
}

func addDelete(s *proxy.Syncer, b *bench, n int) (add, del []time.Duration, err error) {
	for k := range n {
		i := b.services + k
		s.SetService(service(i), []*discoveryv1.EndpointSlice{slice(i, b.endpoints, 0)})
		st, err := s.Sync()
		if err != nil {
			return nil, nil, err
		}
		add = append(add, st.Duration)
		time.Sleep(gap)
		s.DeleteService(namespace, service(i).Name)
		if st, err = s.Sync(); err != nil {
			return nil, nil, err
		}
		del = append(del, st.Duration)
		time.Sleep(gap)
	}
	return add, del, nil
}

func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func heap() uint64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func runMemory(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	before := heap()
	s, done, err := b.newSyncer("memory")
	if err != nil {
		return nil, err
	}
	defer done()
	after := heap()
	runtime.KeepAlive(s)
	d := int64(after) - int64(before)
	return []benchutil.Result{
		row("Syncer model, Go heap", benchutil.Mib(d),
			fmt.Sprintf("%s, after the full sync: HeapAlloc after GC minus before; %d bytes per Service", b.size(), d/int64(b.services))),
	}, nil
}

func runProxier(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	ns, err := newNetns("proxier")
	if err != nil {
		return nil, err
	}
	defer ns.close()
	client := b.fakeAPI()
	base := heap()
	p, err := proxy.New(proxy.Config{Client: client, NetNS: ns.fd, ClusterCIDR: clusterCIDR, NodeName: "node1", Log: quiet})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Run(rctx) }()
	if err := waitSyncs(ctx, p, 1, done); err != nil {
		return nil, err
	}
	first := time.Since(start)
	mem := int64(heap()) - int64(base)

	gen := make([]int, b.services)
	var lat []time.Duration
	for k := range b.changes {
		i := (k * 53) % b.services
		gen[i]++
		n := p.Metrics().Syncs
		t0 := time.Now()
		if _, err := client.DiscoveryV1().EndpointSlices(namespace).Update(ctx, slice(i, b.endpoints, gen[i]), metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
		if err := waitSyncs(ctx, p, n+1, done); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(proxy.DefaultMinSyncPeriod) // one change per sync
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	m := p.Metrics()
	return []benchutil.Result{
		row("Proxier start to first sync", benchutil.Dur(first), fmt.Sprintf("%s in a fake API: informers list, caches sync, full sync (%s of it)", b.size(), benchutil.Dur(m.MaxDuration))),
		row("EndpointSlice update to rules applied", dist(lat),
			fmt.Sprintf("Update on the fake client until Proxier.Metrics counts the sync (MinSyncPeriod %s): of %d", proxy.DefaultMinSyncPeriod, b.changes)),
		row("Proxier Go heap", benchutil.Mib(mem), "after the first sync, HeapAlloc after GC minus before New: the model and the informer caches (managedFields dropped)"),
	}, nil
}

// fakeAPI is a fake clientset holding every Service and its slice.
func (b *bench) fakeAPI() *fake.Clientset {
	objs := make([]k8sruntime.Object, 0, 2*b.services)
	for i := range b.services {
		objs = append(objs, service(i), slice(i, b.endpoints, 0))
	}
	return fake.NewClientset(objs...)
}

// waitSyncs waits until the Proxier has made n syncs.
func waitSyncs(ctx context.Context, p *proxy.Proxier, n uint64, done <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for p.Metrics().Syncs < n {
		select {
		case err := <-done:
			return fmt.Errorf("proxier stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no sync %d after a minute (last error %v)", n, p.Metrics().LastError)
		}
	}
	return nil
}
