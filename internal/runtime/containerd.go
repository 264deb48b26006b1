// Package runtime is the node's container runtime layer: it supervises a
// containerd, talks CRI to it, and imports image tarballs into it.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

const (
	restartBackoffMin = time.Second
	restartBackoffMax = 30 * time.Second
	stopGrace         = 10 * time.Second
	// adoptWait is how long a containerd left by an earlier run gets to
	// answer before it is killed and replaced.
	adoptWait = 10 * time.Second
	// maxLogSize is when containerd.log is rotated (at a start).
	maxLogSize = 16 << 20
	// maxSocketPath is the longest Unix socket path.
	maxSocketPath = 107
)

// Containerd supervises a containerd child process (or adopts one an
// earlier run left behind) with a generated config under one directory.
type Containerd struct {
	cfg ContainerdConfig
	log *slog.Logger

	mu      sync.Mutex
	pid     int
	ready   bool
	failed  error         // why Start gave up, if it did
	changed chan struct{} // closed and replaced at every state change
}

// NewContainerd returns a supervisor for cfg; Start runs it.
func NewContainerd(cfg ContainerdConfig) *Containerd {
	cfg.setDefaults()
	return &Containerd{cfg: cfg, log: cfg.Log.With("component", "containerd"), changed: make(chan struct{})}
}

// Address is containerd's socket path.
func (c *Containerd) Address() string { return filepath.Join(c.cfg.Dir, "containerd.sock") }

// Endpoint is the CRI endpoint, "unix://" + Address().
func (c *Containerd) Endpoint() string { return "unix://" + c.Address() }

// PID is the supervised containerd's process id, 0 while none runs.
func (c *Containerd) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

func (c *Containerd) pidFile() string { return filepath.Join(c.cfg.Dir, "containerd.pid") }

func (c *Containerd) setState(pid int, ready bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pid, c.ready = pid, ready
	close(c.changed)
	c.changed = make(chan struct{})
}

// fail records why Start gave up, for WaitReady.
func (c *Containerd) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = err
	close(c.changed)
	c.changed = make(chan struct{})
	return err
}

// WaitReady blocks until containerd's CRI answers, Start has failed, or
// ctx ends.
func (c *Containerd) WaitReady(ctx context.Context) error {
	for {
		c.mu.Lock()
		ready, failed, changed := c.ready, c.failed, c.changed
		c.mu.Unlock()
		if ready {
			return nil
		}
		if failed != nil {
			return failed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for containerd: %w", ctx.Err())
		}
	}
}

// Start runs containerd until ctx ends, restarting it (back-off 1 s
// doubling to 30 s) whenever it exits. A containerd that an earlier run
// left on the same Dir is adopted rather than started twice. When ctx ends
// containerd gets SIGTERM, then SIGKILL after 10 s (unless KeepRunning).
// Start returns nil then, and an error only if containerd cannot be run.
func (c *Containerd) Start(ctx context.Context) error {
	if c.cfg.Dir == "" {
		return c.fail(errors.New("containerd: no Dir configured"))
	}
	// The longest socket path is containerd's ttrpc one; sockaddr_un holds
	// 107 bytes and a NUL.
	if ttrpc := c.Address() + ".ttrpc"; len(ttrpc) > maxSocketPath {
		return c.fail(fmt.Errorf("containerd: socket path %s is longer than %d bytes: use a shorter Dir", ttrpc, maxSocketPath))
	}
	bin, err := exec.LookPath(c.cfg.Binary)
	if err != nil {
		return c.fail(fmt.Errorf("containerd: %w", err))
	}
	cfgPath, changed, err := writeConfig(c.cfg)
	if err != nil {
		return c.fail(err)
	}
	backoff := restartBackoffMin
	for {
		began := time.Now()
		err := c.runOnce(ctx, bin, cfgPath, changed)
		changed = false
		c.setState(0, false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > 2*restartBackoffMax {
			backoff = restartBackoffMin
		}
		c.log.Warn("containerd exited, restarting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartBackoffMax)
	}
}

// runOnce adopts or starts one containerd and returns when it is gone or
// ctx has ended (and it was stopped).
func (c *Containerd) runOnce(ctx context.Context, bin, cfgPath string, cfgChanged bool) error {
	if pid := c.adoptable(ctx, cfgPath, cfgChanged); pid > 0 {
		c.log.Info("adopted running containerd", "pid", pid)
		return c.supervise(ctx, pid, pollExit(ctx, pid))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	logf, err := openLog(filepath.Join(c.cfg.Dir, "containerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Dir = c.cfg.Dir
	cmd.Env = withSystemPath(os.Environ())
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a signal to skiff's group (or skiff's death)
	// must not take containerd and its shims with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(c.pidFile(), fmt.Appendf(nil, "%d\n", pid), 0o644); err != nil {
		c.log.Warn("writing pid file", "err", err)
	}
	c.log.Info("started containerd", "pid", pid, "config", cfgPath)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // also reaps it after a KeepRunning stop
	return c.supervise(ctx, pid, exited)
}

// supervise marks containerd ready once its CRI answers and waits for it
// to exit or for ctx to end.
func (c *Containerd) supervise(ctx context.Context, pid int, exited <-chan error) error {
	c.setState(pid, false)
	probeCtx, cancel := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		if waitSocket(probeCtx, c.Address(), 0) == nil {
			c.setState(pid, true)
			c.log.Info("containerd is ready", "pid", pid, "address", c.Address())
		}
	}()
	// No ready state may be set after this returns.
	defer func() {
		cancel()
		<-probed
	}()
	select {
	case err := <-exited:
		if err == nil {
			err = errors.New("exit status 0")
		}
		return fmt.Errorf("containerd (pid %d) exited: %w", pid, err)
	case <-ctx.Done():
	}
	if c.cfg.KeepRunning {
		c.log.Info("leaving containerd running", "pid", pid)
		return nil
	}
	c.stop(pid, exited)
	return nil
}

// stop sends SIGTERM, waits up to stopGrace, then SIGKILLs.
func (c *Containerd) stop(pid int, exited <-chan error) {
	c.log.Info("stopping containerd", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if !waitGone(pid, exited, stopGrace) {
		c.log.Warn("containerd did not stop in time, killing it", "pid", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		waitGone(pid, exited, 5*time.Second)
	}
	_ = os.Remove(c.pidFile())
}

// adoptable returns the pid of a containerd that an earlier run started
// with the same config and that still answers, or 0. One that runs but
// does not answer within adoptWait, or whose config has changed since, is
// stopped (its containers live on in their shims).
func (c *Containerd) adoptable(ctx context.Context, cfgPath string, cfgChanged bool) int {
	pid := readPidFile(c.pidFile())
	if pid <= 0 || !isContainerdFor(pid, cfgPath) {
		// The pid file may be lost or stale while containerd runs on.
		if pid = findContainerdFor(cfgPath); pid <= 0 {
			return 0
		}
	}
	if cfgChanged {
		c.log.Info("config changed, restarting the running containerd", "pid", pid)
		c.stop(pid, nil)
		return 0
	}
	if waitSocket(ctx, c.Address(), adoptWait) == nil {
		return pid
	}
	if ctx.Err() != nil {
		return 0
	}
	c.log.Warn("containerd from an earlier run does not answer, killing it", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	waitGone(pid, nil, 5*time.Second)
	return 0
}
