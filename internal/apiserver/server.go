// Package apiserver serves the Kubernetes REST API over the store: routing,
// discovery, the REST verbs, watch, patch, tables, OpenAPI and errors. It is
// generic over the resource descriptions in internal/registry.
package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"

	"github.com/skiff/skiff/internal/auth"
	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/store"
)

// MaxBodyBytes is the largest request body accepted (Kubernetes: 3 MiB).
const MaxBodyBytes = 3 << 20

// Config configures the API server.
type Config struct {
	Store         *store.Store
	Resources     []*registry.Resource
	Authenticator *auth.Authenticator
	Version       version.Info
	Log           *slog.Logger
	// Metrics registers the request metrics; nil uses a private registry.
	Metrics *prometheus.Registry
	// Ready reports whether the store is ready; nil asks the store.
	Ready func(context.Context) error
	// PublicHandlers answer extra paths without authentication (the
	// node join endpoints).
	PublicHandlers map[string]http.Handler
	// NodeClientTLS is how the API server calls node agents (logs):
	// the cluster CA and its kubelet-client certificate.
	NodeClientTLS *tls.Config
	// ServiceCIDR, when set, is where services' cluster IPs come from;
	// NodePorts is the range of node ports (DefaultNodePortRange if zero).
	ServiceCIDR *net.IPNet
	NodePorts   PortRange
}

// Server is the API server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	scheme *runtime.Scheme
	codecs serializer.CodecFactory

	// handlers by group/version/resource.
	handlers map[string]*resourceHandler
	// byKind finds a handler by group/version/kind (for ownerReferences
	// and conversions).
	byKind  map[string]*resourceHandler
	cachers map[string]*cacher

	discovery *discovery
	openapi   *openAPI
	metrics   *metrics
	admission *admission

	base       context.Context
	stopBase   context.CancelFunc
	handler    http.Handler
	httpServer *http.Server
}

// New builds the API server. Start serves it.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: no store")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	scheme, codecs := newScheme()
	base, stop := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: cfg.Log.With("component", "apiserver"), scheme: scheme, codecs: codecs,
		handlers: map[string]*resourceHandler{}, byKind: map[string]*resourceHandler{}, cachers: map[string]*cacher{},
		base: base, stopBase: stop,
	}
	if err := s.install(cfg.Resources); err != nil {
		stop()
		return nil, err
	}
	if cfg.ServiceCIDR != nil {
		if cfg.NodePorts.Size == 0 {
			cfg.NodePorts = DefaultNodePortRange
		}
		a, err := newServiceAllocator(cfg.Store, cfg.ServiceCIDR, cfg.NodePorts)
		if err != nil {
			stop()
			return nil, err
		}
		if h := s.handlers[gvrKey("", "v1", "services")]; h != nil {
			h.alloc = a
		}
	}
	s.discovery = newDiscovery(cfg.Resources)
	s.openapi = newOpenAPI(cfg.Resources, scheme, cfg.Version.GitVersion)
	s.metrics = newMetrics(cfg.Metrics)
	s.admission = newAdmission(s)
	s.handler = s.buildChain()
	return s, nil
}

func (s *Server) install(resources []*registry.Resource) error {
	// Stored types first, so converted versions find their storage.
	sorted := append([]*registry.Resource(nil), resources...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ToStorage == nil && sorted[j].ToStorage != nil })
	for _, res := range sorted {
		h, err := s.newResourceHandler(res)
		if err != nil {
			return err
		}
		s.handlers[gvrKey(res.Group, res.Version, res.Resource)] = h
		if res.NewList != nil {
			s.byKind[gvkKey(res.Group, res.Version, res.Kind)] = h
		}
	}
	return nil
}

func gvrKey(g, v, r string) string { return g + "/" + v + "/" + r }
func gvkKey(g, v, k string) string { return g + "/" + v + "/" + k }

// Handler returns the whole HTTP handler (authentication included).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTPS on l until ctx ends, then shuts down within a few
// seconds (open watches are cut).
func (s *Server) Serve(ctx context.Context, l net.Listener, tlsConfig *tls.Config) error {
	s.httpServer = &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.base },
	}
	errc := make(chan error, 1)
	go func() { errc <- s.httpServer.Serve(tls.NewListener(l, tlsConfig)) }()
	select {
	case err := <-errc:
		s.stopBase()
		return fmt.Errorf("apiserver: %w", err)
	case <-ctx.Done():
	}
	// Cancelling the base context ends every watch; requests in flight get
	// a moment to finish, then the remaining connections are closed.
	s.stopBase()
	shutdown, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.httpServer.Shutdown(shutdown); err != nil {
		_ = s.httpServer.Close()
	}
	return nil
}

// Close stops background work (watch caches) of a server that was never
// served.
func (s *Server) Close() { s.stopBase() }
