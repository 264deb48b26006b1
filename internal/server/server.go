// Package server wires the control plane for `skiff server`: the store
// (embedded or external etcd), certificates and kubeconfig, the API server,
// the bootstrap objects and the controllers.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/apiserver"
	"github.com/skiff/skiff/internal/auth"
	"github.com/skiff/skiff/internal/registry/catalog"
	"github.com/skiff/skiff/internal/store"
)

// Config is what `skiff server` is told.
type Config struct {
	DataDir     string
	BindAddress string
	SecurePort  int
	// TLSSANs are extra names and addresses for the serving certificate.
	TLSSANs       []string
	TokenAuthFile string
	// Datastore names an external etcd; empty Endpoints runs etcd inside.
	Datastore store.ExternalConfig
	// CompactionRetention is how much store history watches can resume in.
	CompactionRetention time.Duration
	// ClusterCIDR is split into node pod CIDRs of NodeCIDRMaskSize bits.
	ClusterCIDR      *net.IPNet
	NodeCIDRMaskSize int
	// ServiceCIDR is where cluster IPs come from (the agent's too); its
	// first address is the `kubernetes` service's. NodePorts is the range
	// of node ports.
	ServiceCIDR *net.IPNet
	NodePorts   apiserver.PortRange
	// AdvertiseAddress is the address other nodes and pods reach this
	// server at (the endpoints of the kubernetes and kube-dns services);
	// default: the node IP.
	AdvertiseAddress net.IP
	// DNSPort is the port the cluster DNS listens on at the advertise
	// address (pods reach it through the kube-dns service); if it is
	// taken, a free one is used. 0 picks a free one; -1 runs no DNS.
	DNSPort int
	// DNSUpstreams answer names outside the cluster domain; nil reads the
	// host's resolv.conf.
	DNSUpstreams []string
	// DisableAgent runs no node agent inside the server.
	DisableAgent bool
	// DisableScheduler runs no scheduler inside the server (another one,
	// e.g. `skiff scheduler`, places the pods).
	DisableScheduler bool
	// DisableControllers runs no controllers inside the server (`skiff
	// controller-manager` runs them).
	DisableControllers bool
	// NodeMonitorGracePeriod is how long a node may miss heartbeats before
	// it is marked Unknown and tainted unreachable (40 s).
	NodeMonitorGracePeriod time.Duration
	// Agent configures the agent inside the server.
	Agent        agent.Config
	SkiffVersion string
	Version      version.Info
	Log          *slog.Logger
	// Ready, if set, is called once the API answers, with the kubeconfig
	// path.
	Ready func(kubeconfig string)
}

// DefaultConfig returns the defaults a user sees.
func DefaultConfig() Config {
	_, clusterCIDR, _ := net.ParseCIDR("10.42.0.0/16")
	_, serviceCIDR, _ := net.ParseCIDR("10.43.0.0/16")
	ac := agent.DefaultConfig()
	ac.ClusterCIDR, ac.ServiceCIDR = clusterCIDR, serviceCIDR
	ac.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "true"}
	return Config{
		DataDir:             "/var/lib/skiff",
		BindAddress:         "0.0.0.0",
		SecurePort:          6443,
		CompactionRetention: 5 * time.Minute,
		ClusterCIDR:         clusterCIDR,
		ServiceCIDR:         serviceCIDR,
		NodePorts:           apiserver.DefaultNodePortRange,
		NodeCIDRMaskSize:    24,
		DNSPort:             53,
		Agent:               ac,
		Log:                 slog.Default(),
	}
}

// Run runs the control plane until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log.With("component", "server")
	// Parse the apply schema on the other core while etcd starts.
	go apiserver.WarmUp()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("server: data dir: %w", err)
	}
	st, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()

	creds, err := loadCredentials(cfg)
	if err != nil {
		return err
	}
	authn := &auth.Authenticator{ClientCAs: creds.ca.Pool(), Tokens: map[string]auth.User{}}
	if cfg.TokenAuthFile != "" {
		if authn.Tokens, err = auth.LoadTokenFile(cfg.TokenAuthFile); err != nil {
			return err
		}
	}
	loopbackToken := randomToken()
	authn.Tokens[loopbackToken] = auth.User{Name: "system:apiserver", UID: "skiff-loopback", Groups: []string{auth.GroupMasters}}
	join, err := joinToken(cfg, creds.ca)
	if err != nil {
		return err
	}
	nodeTLS, err := creds.nodeClientTLS(cfg.DataDir)
	if err != nil {
		return err
	}

	api, err := apiserver.New(apiserver.Config{
		Store: st, Resources: catalog.Resources(), Authenticator: authn, Version: cfg.Version, Log: cfg.Log,
		NodeClientTLS: nodeTLS, ServiceCIDR: cfg.ServiceCIDR, NodePorts: cfg.NodePorts,
		PublicHandlers: map[string]http.Handler{
			auth.CACertsPath: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(creds.ca.PEM) }),
			auth.JoinPath:    auth.JoinHandler(creds.ca, join.Secret),
		},
	})
	if err != nil {
		return err
	}
	defer api.Close()
	if err := bootstrap(ctx, api); err != nil {
		return err
	}
	if err := api.RepairServiceAllocations(ctx); err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.SecurePort)))
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	kubeconfig, err := creds.writeKubeconfig(cfg.DataDir, port)
	if err != nil {
		l.Close()
		return err
	}
	loopback := &rest.Config{
		Host: "https://127.0.0.1:" + strconv.Itoa(port), BearerToken: loopbackToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: creds.ca.PEM}, QPS: 1000, Burst: 2000,
		UserAgent: "skiff-controller-manager",
		// Protobuf, as Kubernetes' own components talk: a third of the
		// JSON's size and much cheaper to encode and decode on both ends.
		ContentConfig: rest.ContentConfig{ContentType: runtime.ContentTypeProtobuf, AcceptContentTypes: runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON},
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return api.Serve(gctx, l, creds.tlsConfig()) })
	g.Go(func() error {
		c := &store.Compactor{Store: st, Retention: cfg.CompactionRetention, Log: log}
		return c.Start(gctx)
	})
	g.Go(func() error { return runControlPlane(gctx, loopback, cfg) })
	g.Go(func() error { return runClusterServices(gctx, loopback, cfg, port) })
	if !cfg.DisableAgent {
		g.Go(func() error { return runAgent(gctx, cfg, creds, loopback.Host) })
	}
	log.Info("skiff server is ready", "address", l.Addr().String(), "kubeconfig", kubeconfig)
	if cfg.Ready != nil {
		cfg.Ready(kubeconfig)
	}
	return g.Wait()
}

func openStore(ctx context.Context, cfg Config) (*store.Store, func(), error) {
	key, err := store.LoadOrCreateKey(filepath.Join(cfg.DataDir, "cred", "encryption.key"))
	if err != nil {
		return nil, nil, err
	}
	crypt, err := store.NewEncrypter("key1", key, "/registry/core/secrets/")
	if err != nil {
		return nil, nil, err
	}
	if len(cfg.Datastore.Endpoints) > 0 {
		cli, err := store.DialExternal(ctx, cfg.Datastore)
		if err != nil {
			return nil, nil, err
		}
		s := store.New(cli, crypt)
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := s.Revision(rctx); err != nil {
			cli.Close()
			return nil, nil, fmt.Errorf("server: external etcd %v: %w", cfg.Datastore.Endpoints, err)
		}
		return s, func() { cli.Close() }, nil
	}
	e, err := store.StartEmbedded(ctx, filepath.Join(cfg.DataDir, "db"))
	if err != nil {
		return nil, nil, err
	}
	return store.New(e.Client(), crypt), e.Close, nil
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness is gone
	}
	return hex.EncodeToString(b)
}

func (c *credentials) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*c.serving},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}
