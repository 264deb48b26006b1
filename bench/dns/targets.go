package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
	clusterdns "github.com/skiff/skiff/internal/network/dns"
	"k8s.io/client-go/kubernetes/fake"
)

// target is a DNS server under load.
type target interface {
	name() string
	start(ctx context.Context) (addr string, err error)
	stop()
	// cpu is the server's CPU time so far; false when it shares this
	// process and cannot be told apart from the load.
	cpu() (time.Duration, bool)
	// childCPU is the CPU of a child process not yet reaped, left out of
	// the "other processes" figure.
	childCPU() time.Duration
	memory() string
}

// --- skiff in this process ---

type inProcess struct {
	shape  shape
	cancel context.CancelFunc
	done   chan error
	heap   uint64
}

func (t *inProcess) name() string { return "skiff (in process)" }

func (t *inProcess) start(ctx context.Context) (string, error) {
	s, heap, err := startSkiff(t.shape)
	if err != nil {
		return "", err
	}
	t.heap = heap
	ctx, t.cancel = context.WithCancel(ctx)
	t.done = make(chan error, 1)
	go func() { t.done <- s.Run(ctx) }()
	select {
	case <-s.Synced():
	case err := <-t.done:
		return "", fmt.Errorf("run: %w", err)
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("caches not synced in 60s")
	}
	// Heap of the index and informer caches, after they filled.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.heap = ms.HeapAlloc - heap
	return s.Addr().String(), nil
}

func (t *inProcess) stop() {
	if t.cancel != nil {
		t.cancel()
		<-t.done
	}
}

func (t *inProcess) cpu() (time.Duration, bool) { return 0, false }
func (t *inProcess) childCPU() time.Duration    { return 0 }
func (t *inProcess) memory() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("Go heap %s after sync; process heap %s in use at end (with the load's own)",
		benchutil.Mib(int64(t.heap)), benchutil.Mib(int64(ms.HeapInuse)))
}

// startSkiff builds the fake cluster and a Server over it; heap is the Go
// heap (after GC) before the Server existed, with the fake clientset's
// own copy of the objects.
func startSkiff(sh shape) (*clusterdns.Server, uint64, error) {
	client := fake.NewClientset(sh.objects()...)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s, err := clusterdns.New(clusterdns.Config{
		Client:    client,
		Domain:    sh.domain,
		Addr:      "127.0.0.1:0",
		Upstreams: []string{}, // cluster names only: nothing to forward
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return s, ms.HeapAlloc, err
}

// --- skiff in a child process: this command run with -serve-child ---

const serveEnv = "SKIFF_DNS_BENCH_CHILD"

type childTarget struct {
	shape shape
	proc  *benchutil.Process
	heap  string
}

func (t *childTarget) name() string { return "skiff (child process)" }

func (t *childTarget) start(ctx context.Context) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	os.Setenv(serveEnv, "1")
	t.proc, err = benchutil.Spawn("skiff-dns", exe, shapeArgs(t.shape)...)
	os.Unsetenv(serveEnv)
	if err != nil {
		return "", err
	}
	var addr string
	err = benchutil.WaitFor(ctx, 60*time.Second, t.proc, "caches synced", func() bool {
		for _, line := range strings.Split(t.proc.Log.String(), "\n") {
			if f := strings.Fields(line); len(f) == 4 && f[0] == "listening" {
				addr, t.heap = f[1], f[3]
				return true
			}
		}
		return false
	})
	return addr, err
}

func (t *childTarget) stop()                      { t.proc.Stop() }
func (t *childTarget) cpu() (time.Duration, bool) { return benchutil.CPUTime(t.proc.Pid()), true }
func (t *childTarget) childCPU() time.Duration    { return benchutil.CPUTime(t.proc.Pid()) }
func (t *childTarget) memory() string {
	return fmt.Sprintf("RSS %s; Go heap %s after sync", rss(t.proc.Pid()), t.heap)
}

func shapeArgs(sh shape) []string {
	return []string{"-domain", sh.domain, "-services", fmt.Sprint(sh.services), "-endpoints", fmt.Sprint(sh.endpoints),
		"-namespaces", fmt.Sprint(sh.namespaces), "-headless-every", fmt.Sprint(sh.headlessEvery)}
}

// serveChild is the child's main: serve the fake cluster until SIGTERM.
func serveChild() {
	var sh shape
	fs := flag.NewFlagSet("child", flag.ExitOnError)
	fs.StringVar(&sh.domain, "domain", "cluster.local", "")
	fs.IntVar(&sh.services, "services", 1000, "")
	fs.IntVar(&sh.endpoints, "endpoints", 10, "")
	fs.IntVar(&sh.namespaces, "namespaces", 10, "")
	fs.IntVar(&sh.headlessEvery, "headless-every", 5, "")
	_ = fs.Parse(os.Args[1:])
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer cancel()
	t := &inProcess{shape: sh}
	addr, err := t.start(ctx)
	if err != nil {
		fail(err)
	}
	fmt.Printf("listening %s heap %s\n", addr, strings.ReplaceAll(benchutil.Mib(int64(t.heap)), " ", ""))
	<-ctx.Done()
	t.stop()
}

// --- CoreDNS with the file plugin ---

type corednsTarget struct {
	bin   string
	shape shape
	dir   string
	proc  *benchutil.Process
}

func (t *corednsTarget) name() string { return "CoreDNS (file plugin)" }

func (t *corednsTarget) start(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "bench-dns-coredns-")
	if err != nil {
		return "", err
	}
	t.dir = dir
	zone := filepath.Join(dir, "db."+t.shape.domain)
	if err := writeZoneFile(t.shape, zone); err != nil {
		return "", err
	}
	port, err := benchutil.FreePort()
	if err != nil {
		return "", err
	}
	// The cluster domain only: no forward plugin, nothing leaves.
	corefile := fmt.Sprintf("%s:%d {\n    bind 127.0.0.1\n    file %s\n}\n", t.shape.domain, port, zone)
	conf := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(conf, []byte(corefile), 0o644); err != nil {
		return "", err
	}
	t.proc, err = benchutil.Spawn("coredns", t.bin, "-conf", conf)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

func (t *corednsTarget) stop() {
	t.proc.Stop()
	if t.dir != "" {
		_ = os.RemoveAll(t.dir)
	}
}

func (t *corednsTarget) cpu() (time.Duration, bool) { return benchutil.CPUTime(t.proc.Pid()), true }
func (t *corednsTarget) childCPU() time.Duration    { return benchutil.CPUTime(t.proc.Pid()) }
func (t *corednsTarget) memory() string             { return "RSS " + rss(t.proc.Pid()) }

// --- a server someone else started ---

type externalTarget struct {
	addr string
	pid  int
}

func external(addr string, pid int) *externalTarget { return &externalTarget{addr: addr, pid: pid} }

func (t *externalTarget) name() string                          { return "server at " + t.addr }
func (t *externalTarget) start(context.Context) (string, error) { return t.addr, nil }
func (t *externalTarget) stop()                                 {}
func (t *externalTarget) childCPU() time.Duration {
	d, _ := t.cpu()
	return d
}
func (t *externalTarget) cpu() (time.Duration, bool) {
	if t.pid == 0 {
		return 0, false
	}
	return benchutil.CPUTime(t.pid), true
}
func (t *externalTarget) memory() string {
	if t.pid == 0 {
		return "n/a (give -pid)"
	}
	return "RSS " + rss(t.pid)
}

func rss(pid int) string {
	m, err := benchutil.MemStatus(pid)
	if err != nil {
		return "n/a"
	}
	return m.String()
}

func numCPU() int { return runtime.NumCPU() }
