// Command dns load-tests cluster DNS over UDP: N workers, each with one
// query in flight, ask for cluster names for a fixed time (or count) and
// the command prints queries/s, p50/p99 latency, errors and the server's
// memory.
//
// By default it starts skiff's DNS server in this process, on
// 127.0.0.1:0, over a fake clientset holding -services Services (every
// -headless-every-th one headless) with -endpoints endpoints each. With
// -separate the same server runs in a child process, so its CPU and RSS
// are its own. -addr aims the load at a server already running (give
// -pid to report its memory and CPU). -coredns BINARY also runs CoreDNS
// with the file plugin over a zone with the same names and measures it
// the same way. -zonefile writes that zone and exits.
//
// No query leaves 127.0.0.1 and none is for a name outside the cluster
// domain: the servers forward nothing.
//
//	go run ./bench/dns [-workers 32] [-duration 10s] [-names svc,headless,host,srv,pod,nx] [-separate] [-coredns PATH]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

type options struct {
	shape    shape
	names    string
	load     load
	warmup   time.Duration
	addr     string
	pid      int
	separate bool
	coredns  string
}

func main() {
	if os.Getenv(serveEnv) != "" {
		serveChild()
		return
	}
	var o options
	flag.StringVar(&o.shape.domain, "domain", "cluster.local", "cluster domain")
	flag.IntVar(&o.shape.services, "services", 1000, "services in the fake cluster")
	flag.IntVar(&o.shape.endpoints, "endpoints", 10, "endpoints per service")
	flag.IntVar(&o.shape.namespaces, "namespaces", 10, "namespaces the services spread over")
	flag.IntVar(&o.shape.headlessEvery, "headless-every", 5, "every n-th service is headless (0: none)")
	flag.StringVar(&o.names, "names", strings.Join(kinds, ","), "kinds of names to ask (one name per service that has that kind): "+strings.Join(kinds, ","))
	flag.IntVar(&o.load.workers, "workers", 32, "concurrent workers, each with one query in flight")
	flag.DurationVar(&o.load.duration, "duration", 10*time.Second, "measured run length")
	flag.Int64Var(&o.load.count, "count", 0, "stop after this many queries (0: run for -duration)")
	flag.DurationVar(&o.load.timeout, "timeout", time.Second, "a query unanswered after this counts as an error")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before the run")
	flag.StringVar(&o.addr, "addr", "", "measure the server at this host:port instead of starting one")
	flag.IntVar(&o.pid, "pid", 0, "with -addr: the server's pid, for its RSS and CPU")
	flag.BoolVar(&o.separate, "separate", false, "run skiff's server in a child process")
	flag.StringVar(&o.coredns, "coredns", "", "also measure this CoreDNS binary (file plugin, same names)")
	zonefile := flag.String("zonefile", "", "write the cluster as a zone file for CoreDNS and exit")
	cpuprofile := flag.String("cpuprofile", "", "write this process's CPU profile (load and in-process server) here")
	flag.Parse()

	if *cpuprofile != "" {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			fail(err)
		}
		defer stop()
	}

	if *zonefile != "" {
		if err := writeZoneFile(o.shape, *zonefile); err != nil {
			fail(err)
		}
		return
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		cancel()
		fail(err)
	}
}

func run(ctx context.Context, o options) error {
	want := map[string]bool{}
	for _, k := range strings.Split(o.names, ",") {
		if !slices.Contains(kinds, k) {
			return fmt.Errorf("-names: unknown kind %q (have %s)", k, strings.Join(kinds, ","))
		}
		want[k] = true
	}
	o.load.queries = o.shape.queries(want)
	if len(o.load.queries) == 0 {
		return fmt.Errorf("no names of kinds %q in this cluster shape", o.names)
	}
	var targets []target
	switch {
	case o.addr != "":
		targets = append(targets, external(o.addr, o.pid))
	case o.separate:
		targets = append(targets, &childTarget{shape: o.shape})
	default:
		targets = append(targets, &inProcess{shape: o.shape})
	}
	if o.coredns != "" {
		targets = append(targets, &corednsTarget{bin: o.coredns, shape: o.shape})
	}
	fmt.Printf("cluster: %d services (%d namespaces, every %dth headless), %d endpoints each; %d distinct names of kinds %s\n",
		o.shape.services, o.shape.namespaces, o.shape.headlessEvery, o.shape.endpoints, len(o.load.queries), o.names)
	fmt.Printf("load: %d workers over UDP, %v warm-up, then %v%s; %d CPUs, GOMAXPROCS default\n\n",
		o.load.workers, o.warmup, o.load.duration, countNote(o.load.count), numCPU())
	fmt.Println("| server | queries | queries/s | p50 | p99 | max | errors | server memory | server CPU/query | other processes' CPU |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, t := range targets {
		row, err := measure(ctx, t, o)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name(), err)
		}
		fmt.Println(row)
	}
	return nil
}

// measure starts t, warms it up, runs the load and formats a row.
func measure(ctx context.Context, t target, o options) (string, error) {
	logf("%s: starting", t.name())
	addr, err := t.start(ctx)
	defer t.stop()
	if err != nil {
		return "", err
	}
	if err := probe(addr, o.load.queries[0], 30*time.Second); err != nil {
		return "", err
	}
	o.load.addr = addr
	if o.warmup > 0 {
		warm := o.load
		warm.duration, warm.count = o.warmup, 0
		if _, err := warm.run(ctx); err != nil {
			return "", err
		}
	}
	logf("%s: measuring at %s", t.name(), addr)
	cpu0, _ := t.cpu()
	noise := benchutil.StartNoise(func() time.Duration { return benchutil.SelfCPU() + t.childCPU() })
	res, err := o.load.run(ctx)
	if err != nil {
		return "", err
	}
	cores := noise.Cores()
	cpu := "n/a (same process)"
	if cpu1, ok := t.cpu(); ok && res.sent > 0 {
		cpu = fmt.Sprintf("%.1f µs", float64(cpu1-cpu0)/float64(time.Microsecond)/float64(res.sent))
	}
	errs := fmt.Sprintf("%d", res.errors())
	if res.errors() > 0 {
		errs = fmt.Sprintf("%d (%d timeouts, %d wrong: %s)", res.errors(), res.timeouts, res.wrong, res.firstWrong)
	}
	qps := float64(res.sent) / res.elapsed.Seconds()
	lat := res.latencies
	return fmt.Sprintf("| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %.2f cores |",
		t.name(), res.sent, qps, benchutil.Dur(benchutil.Percentile(lat, 50)), benchutil.Dur(benchutil.Percentile(lat, 99)),
		benchutil.Dur(benchutil.MaxOf(lat)), errs, t.memory(), cpu, cores), nil
}

func countNote(n int64) string {
	if n > 0 {
		return fmt.Sprintf(" or %d queries", n)
	}
	return ""
}

func writeZoneFile(sh shape, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sh.writeZone(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/dns:", err)
	os.Exit(1)
}
