// Package csidriver is a small CSI driver for tests that serves
// directories: each volume is a directory <root>/<volume id>.
//
// NodeStageVolume creates the volume's directory if missing and
// bind-mounts it on the staging path; NodePublishVolume bind-mounts the
// staging path on the target (read-only if asked); NodeUnpublishVolume
// and NodeUnstageVolume unmount them again. With NoStage the driver has no
// STAGE_UNSTAGE_VOLUME capability and publishes the directory directly.
//
// It registers itself with a node agent (or a kubelet) as
// node-driver-registrar does, but in the same process: it serves the
// pluginregistration v1 Registration service on
// <registration dir>/<name>-reg.sock.
//
// Every call is recorded (Calls) so tests can check the sequence the
// agent made, and any method can be made to fail (SetFailure).
package csidriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	regv1 "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// DefaultName is the driver's name unless configured otherwise.
const DefaultName = "dirs.csi.skiff.test"

// Config configures a Driver.
type Config struct {
	// Name is the driver's name; DefaultName when empty.
	Name string
	// NodeID is what NodeGetInfo answers; the host name when empty.
	NodeID string
	// Root holds the volumes' directories.
	Root string
	// Endpoint is the path of the CSI socket (unix:// may precede it).
	Endpoint string
	// RegistrationDir, when set, gets the registration socket.
	RegistrationDir string
	// Versions are the CSI versions GetInfo lists; ["1.0.0"] when empty.
	Versions []string
	// NoStage drops the STAGE_UNSTAGE_VOLUME capability.
	NoStage bool
	// Log receives a line per call; nil discards them.
	Log *slog.Logger
}

// Call is one request the driver received.
type Call struct {
	Method  string
	Request proto.Message
}

// Driver is the test driver.
type Driver struct {
	cfg      Config
	endpoint string
	log      *slog.Logger
	ready    chan struct{}

	opMu sync.Mutex // one mount operation at a time

	mu       sync.Mutex
	calls    []Call
	failures map[string]error
	statuses []*regv1.RegistrationStatus
}

// New checks the configuration and returns a Driver; Start serves it.
func New(cfg Config) (*Driver, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.NodeID == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("csidriver: node ID: %w", err)
		}
		cfg.NodeID = host
	}
	if len(cfg.Versions) == 0 {
		cfg.Versions = []string{"1.0.0"}
	}
	endpoint := strings.TrimPrefix(cfg.Endpoint, "unix://")
	if !filepath.IsAbs(endpoint) || !filepath.IsAbs(cfg.Root) {
		return nil, errors.New("csidriver: the endpoint and the root must be absolute paths")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{cfg: cfg, endpoint: endpoint, log: log, ready: make(chan struct{}), failures: map[string]error{}}, nil
}

// Name returns the driver's name.
func (d *Driver) Name() string { return d.cfg.Name }

// RegistrationSocket returns the path of the registration socket ("" when
// the driver does not register).
func (d *Driver) RegistrationSocket() string {
	if d.cfg.RegistrationDir == "" {
		return ""
	}
	return filepath.Join(d.cfg.RegistrationDir, d.cfg.Name+"-reg.sock")
}

// VolumeDir returns the directory that holds volume id's data.
func (d *Driver) VolumeDir(id string) string { return filepath.Join(d.cfg.Root, id) }

// Ready is closed once the driver's sockets listen.
func (d *Driver) Ready() <-chan struct{} { return d.ready }

// Start serves the CSI endpoint (and the registration socket) until ctx
// ends, then removes the sockets.
func (d *Driver) Start(ctx context.Context) error {
	if err := os.MkdirAll(d.cfg.Root, 0o755); err != nil {
		return fmt.Errorf("csidriver: root: %w", err)
	}
	csiLn, err := listenUnix(d.endpoint)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	csipb.RegisterIdentityServer(srv, identityServer{d: d})
	csipb.RegisterNodeServer(srv, nodeServer{d: d})
	servers := []*grpc.Server{srv}
	listeners := []net.Listener{csiLn}
	if sock := d.RegistrationSocket(); sock != "" {
		regLn, err := listenUnix(sock)
		if err != nil {
			_ = csiLn.Close()
			return err
		}
		reg := grpc.NewServer()
		regv1.RegisterRegistrationServer(reg, registrationServer{d: d})
		servers, listeners = append(servers, reg), append(listeners, regLn)
	}
	return d.serve(ctx, servers, listeners)
}

// serve runs each server on its listener until ctx ends or one fails.
func (d *Driver) serve(ctx context.Context, servers []*grpc.Server, listeners []net.Listener) error {
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- servers[i].Serve(listeners[i])
		}()
	}
	close(d.ready)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, s := range servers {
		stopWithin(s, 5*time.Second)
	}
	wg.Wait()
	for _, ln := range listeners {
		_ = os.Remove(ln.Addr().String())
	}
	return err
}

// stopWithin stops s gracefully, or at once after timeout.
func stopWithin(s *grpc.Server, timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		s.Stop()
		<-done
	}
}

// listenUnix listens on a unix socket at path, replacing a stale one.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("csidriver: socket directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("csidriver: stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("csidriver: %w", err)
	}
	return ln, nil
}

// Calls returns the requests received so far, oldest first.
func (d *Driver) Calls() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Call(nil), d.calls...)
}

// Methods returns the names of the calls received so far, oldest first.
func (d *Driver) Methods() []string {
	var out []string
	for _, c := range d.Calls() {
		out = append(out, c.Method)
	}
	return out
}

// Statuses returns the registration statuses the agent sent.
func (d *Driver) Statuses() []*regv1.RegistrationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*regv1.RegistrationStatus(nil), d.statuses...)
}

// SetFailure makes method (e.g. "NodeStageVolume") fail with err until
// it is set to nil again.
func (d *Driver) SetFailure(method string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		delete(d.failures, method)
		return
	}
	d.failures[method] = err
}

// record notes a call and returns the failure set for its method.
func (d *Driver) record(method string, req proto.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, Call{Method: method, Request: proto.Clone(req)})
	d.log.Info("CSI call", "method", method, "request", req)
	return d.failures[method]
}
