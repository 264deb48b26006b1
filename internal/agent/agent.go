// Package agent is skiff's node agent, its kubelet: it registers the node,
// keeps its lease, runs the pods bound to it through CRI (containerd),
// reports their status, probes them, serves their logs and runs static
// pods. It is an API client with node credentials.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/agent/csi"
	"github.com/skiff/skiff/internal/agent/prober"
	"github.com/skiff/skiff/internal/agent/volume"
	"github.com/skiff/skiff/internal/runtime"
)

// Config is what an agent is told.
type Config struct {
	// NodeName names the Node object; the host name by default.
	NodeName string
	// NodeIP is the address other nodes and the API server reach it at.
	NodeIP net.IP
	// DataDir holds everything the agent keeps (containerd, logs, pods).
	DataDir string
	// ContainerRuntimeEndpoint is an existing CRI socket; empty starts and
	// supervises a containerd under DataDir.
	ContainerRuntimeEndpoint string
	// Port is the agent's HTTPS port (logs); 0 picks a free one.
	Port int
	// ClusterCIDR and ServiceCIDR get unreachable routes so cluster
	// traffic never leaves by the default route.
	ClusterCIDR *net.IPNet
	ServiceCIDR *net.IPNet
	// ClusterDNS and ClusterDomain go into pods' resolv.conf.
	ClusterDNS    net.IP
	ClusterDomain string
	// CgroupParent is where pod cgroups go ("/kubepods").
	CgroupParent string
	// CNIBinDir holds the CNI plugins; CNIBridge names the node bridge.
	CNIBinDir string
	CNIBridge string
	// CNIConfDir is where the agent writes the pod network's conflist;
	// <DataDir>/cni when empty. With an existing runtime, point it at the
	// directory that runtime reads.
	CNIConfDir string
	// ImageDirs are scanned for tarballs to import at start.
	ImageDirs []string
	// ManifestDirs hold static pod manifests.
	ManifestDirs []string
	// Labels are added to the Node at registration.
	Labels map[string]string
	// DisableProxy runs no service proxy on the node (then the CNI bridge
	// masquerades pod egress itself).
	DisableProxy bool
	// ProxyTable names the proxy's nftables table ("skiff").
	ProxyTable string
	// CSIRegistrationDir is where CSI drivers put their registration
	// sockets (the kubelet's plugins_registry); <DataDir>/plugins_registry
	// when empty.
	CSIRegistrationDir string
	// InsecureRegistries are pulled from over plain HTTP.
	InsecureRegistries []string
	// Version is reported as the node's kubelet version ("skiff vX").
	Version string
	Log     *slog.Logger
}

// DefaultConfig returns the defaults for a node.
func DefaultConfig() Config {
	return Config{
		DataDir: "/var/lib/skiff/agent", Port: 10250,
		ClusterDNS: net.ParseIP("10.43.0.10"), ClusterDomain: "cluster.local",
		CgroupParent: "/kubepods", CNIBinDir: "/usr/lib/cni", CNIBridge: "skiff0",
		Log: slog.Default(),
	}
}

// Deps are the agent's connections, made by the caller.
type Deps struct {
	Client kubernetes.Interface
	// Credentials serve the agent's HTTPS endpoint and verify callers.
	Credentials *ServingCredentials
}

// Agent is one node.
type Agent struct {
	cfg      Config
	client   kubernetes.Interface
	creds    *ServingCredentials
	log      *slog.Logger
	rt       *runtime.Runtime
	volumes  *volume.Manager
	csi      *csi.Registry
	probes   *prober.Manager
	recorder record.EventRecorder
	pods     *podManager
	workers  *workers
	status   *statusManager
	node     *nodeManager
	backoff  *backoffs
	port     int

	liveMu    sync.Mutex
	unhealthy map[string]bool
}

// New checks the configuration and builds an agent. Start runs it.
func New(cfg Config, deps Deps) (*Agent, error) {
	if cfg.NodeName == "" || cfg.NodeIP == nil {
		return nil, errors.New("agent: node name and IP are required")
	}
	if deps.Client == nil {
		return nil, errors.New("agent: no API client")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &Agent{cfg: cfg, client: deps.Client, creds: deps.Credentials, log: cfg.Log.With("component", "agent", "node", cfg.NodeName),
		unhealthy: map[string]bool{}, csi: csi.NewRegistry()}
	return a, nil
}

// Start runs the agent until ctx ends. It starts (or connects to) the
// container runtime, registers the node and runs pods.
func (a *Agent) Start(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	endpoint := a.cfg.ContainerRuntimeEndpoint
	var ctd *runtime.Containerd
	if endpoint == "" {
		ctd = runtime.NewContainerd(a.containerdConfig())
		g.Go(func() error { return ctd.Start(ctx) })
		if err := ctd.WaitReady(ctx); err != nil {
			return fmt.Errorf("agent: containerd: %w", err)
		}
		endpoint = ctd.Endpoint()
	}
	rt, err := dialRuntime(ctx, endpoint)
	if err != nil {
		return err
	}
	defer rt.Close()
	a.rt = rt
	if err := a.prepareImages(ctx, ctd); err != nil {
		return err
	}
	a.setup()
	ln, err := a.listen()
	if err != nil {
		return err
	}
	g.Go(func() error { return a.serve(ctx, ln) })
	g.Go(func() error { return a.node.run(ctx) })
	g.Go(func() error { return a.runPods(ctx) })
	g.Go(func() error { return a.runPeerRoutes(ctx) })
	cleaner, err := volume.NewCleaner(volume.CleanerConfig{Client: a.client, Hostname: a.cfg.NodeName,
		StorageRoot: volume.StorageRoot(a.cfg.DataDir), Log: a.log})
	if err != nil {
		return err
	}
	g.Go(func() error { return cleaner.Run(ctx) })
	plugins, err := csi.NewWatcher(csi.WatcherConfig{Dir: a.csiRegistrationDir(), NodeName: a.cfg.NodeName},
		csi.WatcherDeps{Client: a.client, Registry: a.csi, Log: a.log, Registered: a.driverRegistered})
	if err != nil {
		return err
	}
	g.Go(func() error { return plugins.Start(ctx) })
	if !a.cfg.DisableProxy {
		g.Go(func() error { return a.runProxy(ctx) })
	}
	return g.Wait()
}

func (a *Agent) containerdConfig() runtime.ContainerdConfig {
	return runtime.ContainerdConfig{
		Dir: filepath.Join(a.cfg.DataDir, "containerd"), CNIBinDir: a.cfg.CNIBinDir,
		CNIConfDir: a.cniConfDir(), SandboxImage: pauseRef(), InsecureRegistries: a.cfg.InsecureRegistries,
		Log: a.log,
	}
}

func (a *Agent) csiRegistrationDir() string {
	if a.cfg.CSIRegistrationDir != "" {
		return a.cfg.CSIRegistrationDir
	}
	return filepath.Join(a.cfg.DataDir, "plugins_registry")
}

// driverRegistered unstages the volumes a pod teardown left staged while
// their driver was away.
func (a *Agent) driverRegistered(string) {
	if err := a.volumes.UnstageUnused(); err != nil {
		a.log.Warn("unstage unused CSI volumes", "err", err)
	}
}

func (a *Agent) cniConfDir() string {
	if a.cfg.CNIConfDir != "" {
		return a.cfg.CNIConfDir
	}
	return filepath.Join(a.cfg.DataDir, "cni")
}

// dialRuntime connects to the CRI endpoint, retrying while it comes up.
func dialRuntime(ctx context.Context, endpoint string) (*runtime.Runtime, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		rt, err := runtime.Dial(ctx, endpoint)
		if err == nil {
			if _, err = rt.Version(ctx); err == nil {
				return rt, nil
			}
			rt.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("agent: container runtime %s: %w", endpoint, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setup builds the parts that need the runtime.
func (a *Agent) setup() {
	a.recorder = newRecorder(a.client, a.cfg.NodeName)
	a.volumes = volume.New(volume.Config{RootDir: filepath.Join(a.cfg.DataDir, "pods"), StorageRoot: volume.StorageRoot(a.cfg.DataDir),
		Client: a.client, NodeName: a.cfg.NodeName, CSIDrivers: a.csi, Log: a.log})
	a.probes = prober.NewManager(execer{a}, eventRecorder{a.recorder}, a.log)
	a.backoff = newBackoffs()
	a.status = newStatusManager(a)
	a.node = newNodeManager(a)
	a.pods = newPodManager(a)
	a.workers = newWorkers(a)
}

// hostIPs returns the node's addresses for pod status.
func (a *Agent) hostIPs() []corev1.HostIP {
	return []corev1.HostIP{{IP: a.cfg.NodeIP.String()}}
}
