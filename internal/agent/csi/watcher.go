package csi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
)

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Dir is the registration directory plugins put their sockets in,
	// <agent data dir>/plugins_registry. It is created if missing.
	Dir string
	// NodeName is the Node whose annotation lists the drivers.
	NodeName string
	// Interval is how often Dir is scanned; a second when zero.
	Interval time.Duration
	// Timeout bounds each call to a plugin; ten seconds when zero.
	Timeout time.Duration
}

// WatcherDeps are the Watcher's connections.
type WatcherDeps struct {
	// Client updates the Node.
	Client kubernetes.Interface
	// Registry receives the registered drivers.
	Registry *Registry
	// Registered, if set, is called (in the watcher's goroutine) after
	// each registration, e.g. to finish volume work that waited for the
	// driver.
	Registered func(driver string)
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
}

// Watcher registers the CSI plugins whose sockets appear in a directory
// and unregisters them when the sockets go away.
type Watcher struct {
	cfg      WatcherConfig
	registry *Registry
	node     nodeInfo
	onReg    func(string)
	log      *slog.Logger
	// plugins is the state of each socket seen; only Start's goroutine
	// touches it.
	plugins map[string]*plugin
}

// plugin is one registration socket.
type plugin struct {
	ino      uint64 // the socket's inode: a new socket is a new plugin
	driver   *Driver
	failures int
	retryAt  time.Time
}

// Backoff between failed registrations of a socket.
const (
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// NewWatcher checks the configuration and returns a Watcher; Start runs
// it.
func NewWatcher(cfg WatcherConfig, deps WatcherDeps) (*Watcher, error) {
	if cfg.Dir == "" || cfg.NodeName == "" {
		return nil, errors.New("csi: the watcher needs a registration directory and a node name")
	}
	if deps.Client == nil || deps.Registry == nil {
		return nil, errors.New("csi: the watcher needs an API client and a registry")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, registry: deps.Registry, node: nodeInfo{client: deps.Client, nodeName: cfg.NodeName},
		onReg: deps.Registered, log: log.With("component", "csi-plugin-watcher"), plugins: map[string]*plugin{}}, nil
}

// Start scans the registration directory until ctx ends. The drivers it
// registered are then dropped from the registry (the Node keeps them, as
// they are likely to be there when the agent comes back).
func (w *Watcher) Start(ctx context.Context) error {
	if err := os.MkdirAll(w.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("csi: registration directory: %w", err)
	}
	defer w.dropAll()
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		w.scan(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// scan compares the sockets in the directory with what is known:
// sockets gone or replaced unregister, new ones (and failed ones, after a
// backoff) register, registered ones nobody listens on any more
// unregister.
func (w *Watcher) scan(ctx context.Context) {
	seen, err := sockets(w.cfg.Dir)
	if err != nil {
		w.log.Warn("scan registration directory", "dir", w.cfg.Dir, "err", err)
		return
	}
	for path, p := range w.plugins {
		if ino, ok := seen[path]; !ok || ino != p.ino {
			w.deregister(ctx, path, p)
			delete(w.plugins, path)
		}
	}
	for path, ino := range seen {
		p := w.plugins[path]
		if p == nil {
			p = &plugin{ino: ino}
			w.plugins[path] = p
		}
		switch {
		case p.driver != nil:
			if !listening(path) {
				w.deregister(ctx, path, p)
				p.retryAt = time.Now().Add(minRetry)
			}
		case time.Now().Before(p.retryAt):
		default:
			w.tryRegister(ctx, path, p)
		}
	}
}

// sockets lists the unix sockets directly in dir by inode. Hidden names
// are skipped.
func sockets(dir string) (map[string]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, e := range entries {
		if e.Type()&fs.ModeSocket == 0 || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			continue
		}
		out[path] = st.Ino
	}
	return out, nil
}

// listening reports whether a process still serves the socket at path:
// only a refused connection (a socket file left behind) says no.
func listening(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return true
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

func (w *Watcher) tryRegister(ctx context.Context, path string, p *plugin) {
	d, err := w.register(ctx, path)
	if err != nil {
		p.failures++
		delay := min(minRetry<<min(p.failures-1, 5), maxRetry)
		p.retryAt = time.Now().Add(delay)
		w.log.Warn("register CSI plugin", "socket", path, "attempt", p.failures, "retryIn", delay, "err", err)
		return
	}
	p.driver, p.failures = d, 0
	w.log.Info("registered CSI driver", "driver", d.Name, "endpoint", d.Endpoint, "version", d.Version,
		"nodeID", d.NodeID, "stageUnstage", d.StageUnstage())
	if w.onReg != nil {
		w.onReg(d.Name)
	}
}

// deregister drops the plugin's driver, unless another socket took the
// name over meanwhile.
func (w *Watcher) deregister(ctx context.Context, path string, p *plugin) {
	if p.driver == nil {
		return
	}
	name := p.driver.Name
	p.driver = nil
	d := w.registry.remove(name, path)
	if d == nil {
		return
	}
	_ = d.Close()
	w.log.Info("unregistered CSI driver", "driver", name, "socket", path)
	if err := w.node.uninstall(ctx, name); err != nil {
		w.log.Warn("remove CSI driver from node", "driver", name, "err", err)
	}
}

// dropAll closes the drivers this watcher registered and removes them
// from the registry.
func (w *Watcher) dropAll() {
	for path, p := range w.plugins {
		if p.driver != nil {
			if d := w.registry.remove(p.driver.Name, path); d != nil {
				_ = d.Close()
			}
		}
	}
	w.plugins = map[string]*plugin{}
}
