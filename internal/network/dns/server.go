// Package dns is skiff's cluster DNS: an authoritative server for the
// cluster domain, answering from an in-memory index of Services and
// EndpointSlices that informers keep current, which forwards every
// other name to upstream resolvers. It follows the Kubernetes DNS-based
// service discovery specification and CoreDNS's kubernetes plugin where
// the specification leaves room.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/tools/cache"
)

const (
	// syncWait is how long a query for a cluster name waits for the
	// caches to fill before it gets SERVFAIL.
	syncWait = 2 * time.Second
	// shutdownWait bounds the wait for in-flight queries on shutdown.
	shutdownWait = 5 * time.Second
	// tcpIdle closes TCP connections that send nothing for this long.
	tcpIdle = 10 * time.Second
)

// Server is the cluster DNS server. New binds its sockets, so Addr is
// known before Run starts answering.
type Server struct {
	cfg    Config
	log    *slog.Logger
	zone   string // the cluster domain, fully qualified: "cluster.local."
	suffix string // "." + zone
	ttl    uint32
	ix     *index
	fwd    *forwarder
	// recursion says who may have other names forwarded.
	recursion *clients

	udp  net.PacketConn
	tcp  net.Listener
	addr netip.AddrPort

	// life ends when the server shuts down; forwarded queries and
	// queries waiting for the caches end with it.
	life     context.Context
	stop     context.CancelFunc
	synced   chan struct{}
	isSynced atomic.Bool
	syncWait time.Duration
	claimed  atomic.Bool // Run or Close has taken the sockets
}

// New checks cfg, reads the upstream resolvers and binds UDP and TCP on
// cfg.Addr. The Server answers nothing until Run; call Close instead if
// it will never run.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ups, err := cfg.upstreams()
	if err != nil {
		return nil, err
	}
	pc, ln, err := listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Log.With("component", "dns"),
		zone:     cfg.Domain + ".",
		suffix:   "." + cfg.Domain + ".",
		ttl:      cfg.TTL,
		ix:       newIndex(),
		udp:      pc,
		tcp:      ln,
		addr:     pc.LocalAddr().(*net.UDPAddr).AddrPort(),
		synced:   make(chan struct{}),
		syncWait: syncWait,
	}
	if len(cfg.RecursionFrom) > 0 {
		s.recursion = newClients(cfg.RecursionFrom)
	}
	s.life, s.stop = context.WithCancel(context.Background())
	s.fwd = newForwarder(withoutSelf(ups, s.addr), cfg.ForwardTimeout)
	return s, nil
}

// Addr is the address the server answers on, UDP and TCP alike.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Upstreams are the resolvers names outside the cluster domain go to.
func (s *Server) Upstreams() []string { return append([]string(nil), s.fwd.upstreams...) }

// Synced is closed once the caches have synced and the index answers for
// the whole cluster.
func (s *Server) Synced() <-chan struct{} { return s.synced }

// Close releases the sockets of a server that was never run. Once Run
// has started, it owns them and Close does nothing.
func (s *Server) Close() error {
	if !s.claimed.CompareAndSwap(false, true) {
		return nil
	}
	s.stop()
	return closeBoth(s.udp, s.tcp)
}

// Run watches Services and EndpointSlices, answers queries until ctx
// ends, then stops the listeners, waits for in-flight queries (at most a
// few seconds) and the informers, and returns nil. Queries for cluster
// names that arrive before the caches have synced wait for them briefly.
func (s *Server) Run(ctx context.Context) error {
	if !s.claimed.CompareAndSwap(false, true) {
		return ErrRun
	}
	defer s.stop()
	w := newWatcher(s.ix, s.zone)
	factory, regs, err := w.informers(s.cfg.Client)
	if err == nil && s.recursion != nil {
		var reg cache.ResourceEventHandlerRegistration
		if reg, err = s.recursion.watchNodes(factory); err == nil {
			regs = append(regs, reg)
		}
	}
	if err != nil {
		_ = closeBoth(s.udp, s.tcp)
		return fmt.Errorf("dns: informers: %w", err)
	}
	sv := s.serve()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	s.log.Info("serving", "addr", s.addr.String(), "domain", s.cfg.Domain, "upstreams", s.fwd.upstreams)

	synced := make([]cache.InformerSynced, len(regs))
	for i, r := range regs {
		synced[i] = r.HasSynced
	}
	if cache.WaitForCacheSync(ctx.Done(), synced...) {
		s.isSynced.Store(true)
		close(s.synced)
		n, _ := s.ix.counts()
		s.log.Info("caches synced", "services", n)
	}

	select {
	case <-ctx.Done():
	case err = <-sv.errc:
		err = fmt.Errorf("dns: serve: %w", err)
	}
	s.shutdown(sv)
	return err
}

// serving is the UDP and TCP servers at work.
type serving struct {
	servers []*dns.Server
	errc    chan error      // a server that stopped on its own
	exited  []chan struct{} // closed when a server's goroutine returns
}

// serve starts the UDP and TCP servers and returns once both are
// reading.
func (s *Server) serve() *serving {
	sv := &serving{
		servers: []*dns.Server{
			{PacketConn: s.udp, Handler: s, UDPSize: dns.DefaultMsgSize},
			{Listener: s.tcp, Handler: s, IdleTimeout: func() time.Duration { return tcpIdle }},
		},
		errc: make(chan error, 2),
	}
	for _, srv := range sv.servers {
		started, exited := make(chan struct{}), make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		sv.exited = append(sv.exited, exited)
		go func() {
			defer close(exited)
			if err := srv.ActivateAndServe(); err != nil {
				sv.errc <- err
			}
		}()
		select {
		case <-started:
		case <-exited:
		}
	}
	return sv
}

// shutdown stops the servers, which close the sockets, and waits for
// their goroutines, at most shutdownWait: in-flight handlers see life end
// and return quickly.
func (s *Server) shutdown(sv *serving) {
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range sv.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ShutdownContext(ctx); err != nil {
				s.log.Debug("shutdown", "err", err)
			}
		}()
	}
	wg.Wait()
	for _, exited := range sv.exited {
		select {
		case <-exited:
		case <-ctx.Done():
			s.log.Warn("server goroutine still running after shutdown")
		}
	}
	// A server that failed to start never closes its socket.
	_ = closeBoth(s.udp, s.tcp)
}

// listen binds UDP and TCP on the same address. With port 0 it takes the
// port the kernel gives UDP and retries a few times if TCP has it taken.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %q: %w", ErrListen, addr, err)
	}
	tries := 1
	if port == "0" {
		tries = 10
	}
	for i := 0; ; i++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrListen, err)
		}
		tcpAddr := net.JoinHostPort(host, fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port))
		ln, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		if i+1 >= tries {
			return nil, nil, fmt.Errorf("%w: %w", ErrListen, err)
		}
	}
}

func closeBoth(pc net.PacketConn, ln net.Listener) error {
	err1, err2 := pc.Close(), ln.Close()
	if err1 != nil && !isClosed(err1) {
		return err1
	}
	if err2 != nil && !isClosed(err2) {
		return err2
	}
	return nil
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// withoutSelf drops upstreams that are this server, which would loop.
func withoutSelf(ups []string, self netip.AddrPort) []string {
	out := ups[:0:0]
	for _, u := range ups {
		if ap, err := netip.ParseAddrPort(u); err == nil && ap.Port() == self.Port() &&
			(ap.Addr().Unmap() == self.Addr().Unmap() || self.Addr().IsUnspecified() && ap.Addr().IsLoopback()) {
			continue
		}
		out = append(out, u)
	}
	return out
}
