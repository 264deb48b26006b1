// Package runtimetest starts a real containerd for tests (root only) and
// cleans up everything it leaves: sandboxes, shims, mounts, directories.
package runtimetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/pause"
	"github.com/skiff/skiff/test/images"
)

// maxDirLen keeps Dir short enough for containerd's sockets
// (Dir/containerd/containerd.sock.ttrpc) to fit in a sockaddr_un (108 bytes).
const maxDirLen = 60

// Env is a containerd run for a test under Dir.
type Env struct {
	// Dir holds everything; containerd's own dir is Dir/containerd.
	Dir string
	// Config is what StartContainerd starts containerd with.
	Config runtime.ContainerdConfig
	// Containerd is the current supervisor.
	Containerd *runtime.Containerd
	// Runtime is a CRI connection to it.
	Runtime *runtime.Runtime

	log  *testLog
	stop func()
}

// Option changes the containerd config of Start or StartContainerd.
type Option func(*runtime.ContainerdConfig)

// Start starts containerd in a fresh short directory and waits until its
// CRI answers; the test fails if it cannot (not root, no containerd). All
// is stopped and removed when the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("runtimetest needs root (containerd, runc and mounts)")
	}
	dir := ShortTempDir(t)
	tl := &testLog{t: t}
	e := &Env{
		Dir: dir,
		Config: runtime.ContainerdConfig{
			Dir: filepath.Join(dir, "containerd"),
			Log: slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		log: tl,
	}
	t.Cleanup(func() { e.cleanup(t) })
	e.StartContainerd(t, opts...)
	rt, err := runtime.Dial(context.Background(), e.Containerd.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	e.Runtime = rt
	return e
}

// Address is containerd's socket path.
func (e *Env) Address() string { return e.Containerd.Address() }

// StartContainerd starts a new supervisor with Config changed by opts
// (which stay changed) and waits until containerd is ready.
func (e *Env) StartContainerd(t testing.TB, opts ...Option) {
	t.Helper()
	e.StopContainerd()
	for _, o := range opts {
		o(&e.Config)
	}
	c := runtime.NewContainerd(e.Config)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	e.Containerd = c
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("containerd supervisor: %v", err)
		}
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, time.Minute)
	defer readyCancel()
	if err := c.WaitReady(readyCtx); err != nil {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("containerd did not start: %v (log: %s)", err, e.logTail())
		default:
		}
		t.Fatalf("%v (log: %s)", err, e.logTail())
	}
}

// StopContainerd stops the current supervisor and waits for it (which
// also stops containerd, unless the config says KeepRunning).
func (e *Env) StopContainerd() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// EnsurePause imports skiff's pause image.
func (e *Env) EnsurePause(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pause.Ensure(ctx, e.Runtime, e.Address()); err != nil {
		t.Fatal(err)
	}
}

// ImportTestImages builds and imports the test images (package
// test/images) and returns ref → tarball.
func (e *Env) ImportTestImages(t testing.TB) map[string]string {
	t.Helper()
	built, err := images.Build(filepath.Join(e.Dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, path := range built {
		if err := runtime.Import(ctx, e.Address(), path); err != nil {
			t.Fatal(err)
		}
	}
	return built
}

func (e *Env) logTail() string {
	b, _ := os.ReadFile(filepath.Join(e.Config.Dir, "containerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// cleanup removes every sandbox and container, stops containerd, and
// purges Dir.
func (e *Env) cleanup(t testing.TB) {
	if e.Runtime != nil && e.stop != nil {
		if err := RemoveAll(context.Background(), e.Runtime); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if e.Runtime != nil {
		e.Runtime.Close()
	}
	e.StopContainerd()
	e.log.close()
	if err := Purge(e.Dir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// RemoveAll stops and removes every pod sandbox and container CRI has.
func RemoveAll(ctx context.Context, rt *runtime.Runtime) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sbs, err := rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list sandboxes: %w", err)
	}
	for _, sb := range sbs.Items {
		if _, err := rt.Runtime.StopPodSandbox(ctx, &criv1.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("stop sandbox %s: %w", sb.Id, err)
		}
		if _, err := rt.Runtime.RemovePodSandbox(ctx, &criv1.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("remove sandbox %s: %w", sb.Id, err)
		}
	}
	cs, err := rt.Runtime.ListContainers(ctx, &criv1.ListContainersRequest{})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Containers {
		if _, err := rt.Runtime.RemoveContainer(ctx, &criv1.RemoveContainerRequest{ContainerId: c.Id}); err != nil {
			return fmt.Errorf("remove container %s: %w", c.Id, err)
		}
	}
	return nil
}

// ShortTempDir returns a temporary directory short enough for Unix socket
// paths under it (t.TempDir() if that is, else /tmp/skiff-rt-*), removed
// with Purge when the test ends.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) <= maxDirLen {
		return dir
	}
	dir, err := os.MkdirTemp("/tmp", "skiff-rt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Purge(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// testLog sends slog output to t.Log until the test's cleanup.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

var _ io.Writer = (*testLog)(nil)

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(string(p[:len(p)-min(1, len(p))]))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}
