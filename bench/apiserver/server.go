package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// readyPoll is how often /readyz is asked while a server starts.
const readyPoll = 5 * time.Millisecond

// proc is one running `skiff server` on a fresh data dir.
type proc struct {
	cmd     *exec.Cmd
	dataDir string
	port    int
	log     *benchutil.SyncBuffer
	done    chan struct{}
	// startup is spawn to the first 200 from /readyz.
	startup time.Duration
	// shutdown is SIGTERM to exit, set by stop.
	shutdown time.Duration
}

// startServer spawns the server on a fresh data dir and a free port and
// waits (at most timeout) until /readyz answers 200.
func startServer(ctx context.Context, bin string, timeout time.Duration) (*proc, error) {
	dir, err := os.MkdirTemp("", "skiff-bench-")
	if err != nil {
		return nil, err
	}
	port, err := benchutil.FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &proc{dataDir: dir, port: port, log: &benchutil.SyncBuffer{}, done: make(chan struct{})}
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
			return fmt.Errorf("skiff server exited before ready:\n%s", benchutil.Tail(p.log.String(), 20))
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
	return fmt.Errorf("skiff server not ready in %v:\n%s", timeout, benchutil.Tail(p.log.String(), 20))
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
		benchutil.Logf("server pid %d had exited on its own (%v); its last output:\n%s",
			p.cmd.Process.Pid, p.cmd.ProcessState, benchutil.Tail(p.log.String(), 30))
		return
	default:
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.shutdown = time.Since(start)
	case <-time.After(30 * time.Second):
		benchutil.Logf("server pid %d ignored SIGTERM for 30 s; killing it", p.cmd.Process.Pid)
		_ = p.cmd.Process.Kill()
		<-p.done
		p.shutdown = -1
	}
}

// restConfig is the admin kubeconfig, set up by benchutil.RestConfig
// (no throttling, no proxy, one connection per clientset).
func (p *proc) restConfig() (*rest.Config, error) {
	return benchutil.RestConfig(filepath.Join(p.dataDir, "data", "kubeconfig.yaml"))
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

// memRows reports the server's RSS and high-water mark after a load test.
func (p *proc) memRows(after string) []result {
	m, err := benchutil.MemStatus(p.cmd.Process.Pid)
	if err != nil {
		return []result{{"RSS after " + after, "error: " + err.Error(), ""}}
	}
	return []result{{
		"RSS after " + after, m.String(),
		"VmRSS (RssAnon + RssFile) and VmHWM from /proc/PID/status of the server right after the test",
	}}
}
