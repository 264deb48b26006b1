package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// readyPoll is how often /readyz is asked while a server starts.
const readyPoll = 5 * time.Millisecond

// proc is one running `skiff server` on a fresh data dir.
type proc struct {
	cmd     *exec.Cmd
	dataDir string
	port    int
	log     *syncBuffer
	done    chan struct{}
	// startup is spawn to the first 200 from /readyz.
	startup time.Duration
	// shutdown is SIGTERM to exit, set by stop.
	shutdown time.Duration
}

// syncBuffer collects the server's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; the server then exits and
// startServer reports that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer spawns the server on a fresh data dir and a free port and
// waits (at most timeout) until /readyz answers 200.
func startServer(ctx context.Context, bin string, timeout time.Duration) (*proc, error) {
	dir, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &proc{dataDir: dir, port: port, log: &syncBuffer{}, done: make(chan struct{})}
	// The control plane alone: the node agent has its own benchmark (bench/pods).
	p.cmd = exec.Command(bin, "server", "--disable-agent", "--data-dir", filepath.Join(dir, "data"),
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// Pdeathsig: the server does not outlive a crashed bench.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	if err := p.waitReady(ctx, start, timeout); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitReady polls /readyz every readyPoll until it answers 200.
func (p *proc) waitReady(ctx context.Context, start time.Time, timeout time.Duration) error {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // readiness only
		Proxy:           nil,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Second}
	u := p.url("/readyz")
	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("skiff server exited before ready:\n%s", tail(p.log.String(), 20))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(u)
		if err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				p.startup = time.Since(start)
				return nil
			}
		}
		time.Sleep(readyPoll)
	}
	return fmt.Errorf("skiff server not ready in %v:\n%s", timeout, tail(p.log.String(), 20))
}

func (p *proc) url(path string) string {
	return "https://127.0.0.1:" + strconv.Itoa(p.port) + path
}

// stop sends SIGTERM, waits up to 30 s (then SIGKILL) and removes the
// data dir.
func (p *proc) stop() {
	defer os.RemoveAll(p.dataDir)
	select {
	case <-p.done:
		logf("server pid %d had exited on its own (%v); its last output:\n%s",
			p.cmd.Process.Pid, p.cmd.ProcessState, tail(p.log.String(), 30))
		return
	default:
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.shutdown = time.Since(start)
	case <-time.After(30 * time.Second):
		logf("server pid %d ignored SIGTERM for 30 s; killing it", p.cmd.Process.Pid)
		_ = p.cmd.Process.Kill()
		<-p.done
		p.shutdown = -1
	}
}

// restConfig is the admin kubeconfig with throttling off and no proxy, so
// every client talks to 127.0.0.1 directly. A Proxy func also keeps
// client-go from sharing one transport (one TCP connection) between
// clientsets: each config gets its own connection.
func (p *proc) restConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(p.dataDir, "data", "kubeconfig.yaml"))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.Host, "https://127.0.0.1:") {
		return nil, fmt.Errorf("kubeconfig points at %s, not 127.0.0.1", cfg.Host)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6
	cfg.RateLimiter = flowcontrol.NewFakeAlwaysRateLimiter()
	cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	cfg.UserAgent = "skiff-bench"
	return cfg, nil
}

// clients returns n clientsets, each with its own connection.
func (p *proc) clients(n int, mutate func(*rest.Config)) ([]*kubernetes.Clientset, error) {
	out := make([]*kubernetes.Clientset, n)
	for i := range out {
		cfg, err := p.restConfig()
		if err != nil {
			return nil, err
		}
		if mutate != nil {
			mutate(cfg)
		}
		if out[i], err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mem is a process's memory from /proc/PID/status, in bytes.
type mem struct {
	rss, hwm, anon, file int64
}

// String gives RSS with its split into anonymous memory (Go heap, stacks)
// and file pages (the mapped binary), and the high-water mark.
func (m mem) String() string {
	return fmt.Sprintf("%s (anon %s + file %s; VmHWM %s)", mib(m.rss), mib(m.anon), mib(m.file), mib(m.hwm))
}

// memStatus reads VmRSS, VmHWM, RssAnon and RssFile of process pid.
func memStatus(pid int) (mem, error) {
	var m mem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmRSS:": &m.rss, "VmHWM:": &m.hwm, "RssAnon:": &m.anon, "RssFile:": &m.file}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" && fields[f[0]] != nil {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			*fields[f[0]] = v << 10
		}
	}
	if m.rss == 0 {
		return m, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// clockTick is USER_HZ, 100 on every Linux Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime returns user+system CPU time of process pid (all threads) from
// /proc/PID/stat, in clock ticks of 10 ms.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * clockTick
}

// memRows reports the server's RSS and high-water mark after a load test.
func (p *proc) memRows(after string) []result {
	m, err := memStatus(p.cmd.Process.Pid)
	if err != nil {
		return []result{{"RSS after " + after, "error: " + err.Error(), ""}}
	}
	return []result{{
		"RSS after " + after, m.String(),
		"VmRSS (RssAnon + RssFile) and VmHWM from /proc/PID/status of the server right after the test",
	}}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
