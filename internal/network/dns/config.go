package dns

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"k8s.io/client-go/kubernetes"
)

// Defaults for the zero values of Config.
const (
	DefaultDomain         = "cluster.local"
	DefaultResolvConf     = "/etc/resolv.conf"
	DefaultTTL            = 5
	DefaultForwardTimeout = 2 * time.Second
)

// Config configures the cluster DNS server.
type Config struct {
	// Client reads Services and EndpointSlices.
	Client kubernetes.Interface
	// Domain is the cluster domain (default cluster.local).
	Domain string
	// Addr is the host:port to serve UDP and TCP on; port 0 picks a free
	// port, the same for both, which Server.Addr reports. Pods reach it
	// through the cluster DNS service IP, so the host must be an address
	// the service proxy can DNAT to (the node IP), not loopback.
	Addr string
	// Upstreams are the host:port resolvers names outside the cluster
	// domain go to. nil reads the nameservers of ResolvConf; an empty,
	// non-nil slice forwards nothing (those queries get SERVFAIL).
	Upstreams []string
	// ResolvConf is read when Upstreams is nil (default /etc/resolv.conf).
	ResolvConf string
	// TTL of every answer, and the negative TTL (default 5 seconds).
	TTL uint32
	// ForwardTimeout bounds one attempt at one upstream (default 2s).
	ForwardTimeout time.Duration
	// RecursionFrom, when set, limits forwarding of names outside the
	// cluster domain to clients in these prefixes, on loopback or at a
	// node's address; others get REFUSED for them (cluster names are
	// answered for anyone). Empty forwards for everyone.
	RecursionFrom []netip.Prefix
	// Log receives the server's logs (default: discarded).
	Log *slog.Logger
}

// withDefaults fills the zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Client == nil {
		return c, fmt.Errorf("%w: no client", ErrConfig)
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	c.Domain = strings.ToLower(strings.Trim(c.Domain, "."))
	if _, ok := dns.IsDomainName(c.Domain); !ok || c.Domain == "" || strings.Contains(c.Domain, `\`) {
		return c, fmt.Errorf("%w: domain %q", ErrConfig, c.Domain)
	}
	if c.Addr == "" {
		return c, fmt.Errorf("%w: no listen address", ErrConfig)
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = DefaultForwardTimeout
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// upstreams returns the configured resolvers, or those of resolv.conf,
// as host:port. Port 53 is added where none is given.
func (c Config) upstreams() ([]string, error) {
	raw := c.Upstreams
	if raw == nil {
		rc, err := dns.ClientConfigFromFile(c.ResolvConf)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrResolvConf, err)
		}
		for _, s := range rc.Servers {
			raw = append(raw, net.JoinHostPort(s, rc.Port))
		}
	}
	out := make([]string, 0, len(raw))
	for _, u := range raw {
		if _, _, err := net.SplitHostPort(u); err != nil {
			u = net.JoinHostPort(strings.Trim(u, "[]"), "53")
		}
		if _, _, err := net.SplitHostPort(u); err != nil {
			return nil, fmt.Errorf("%w: upstream %q: %w", ErrConfig, u, err)
		}
		out = append(out, u)
	}
	return out, nil
}
