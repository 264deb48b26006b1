package proxy

import (
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Config configures a Proxier (and, but for Client and MinSyncPeriod, a
// Syncer).
type Config struct {
	// Client reads Services and EndpointSlices.
	Client kubernetes.Interface
	// NodeName is this node, for internalTrafficPolicy: Local.
	NodeName string
	// ClusterCIDR is the pod network. Service traffic from outside it is
	// masqueraded, and so is pod traffic leaving it. Nil masquerades all
	// Service traffic and leaves pod egress alone.
	ClusterCIDR *net.IPNet
	// Table names the nftables table (family ip) skiff owns; default
	// DefaultTable.
	Table string
	// MinSyncPeriod is the least time between two syncs: changes that
	// arrive meanwhile are applied together. Default 50ms.
	MinSyncPeriod time.Duration
	// Log receives the proxy's logs; default slog.Default().
	Log *slog.Logger
	// NetNS, if not 0, is an open file descriptor of the network namespace
	// to program (tests and benchmarks); 0 programs the caller's.
	NetNS int
}

// DefaultTable is the nftables table the proxy owns by default.
const DefaultTable = "skiff"

// DefaultMinSyncPeriod is MinSyncPeriod's default.
const DefaultMinSyncPeriod = 50 * time.Millisecond

// tableName is what nft accepts without quoting, well under NFT_NAME_MAXLEN.
var tableName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// withDefaults fills in the defaults.
func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.MinSyncPeriod <= 0 {
		c.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// isIPv4Net accepts an IPv4 prefix with a 4-byte mask or, as
// net.IPNet allows, a 16-byte one of an IPv4-mapped address.
func isIPv4Net(n *net.IPNet) bool {
	if n.IP.To4() == nil {
		return false
	}
	switch len(n.Mask) {
	case net.IPv4len:
		return true
	case net.IPv6len:
		ones, _ := net.IPMask(n.Mask[:12]).Size()
		return ones == 96
	}
	return false
}

// validate checks what both the Proxier and the Syncer need.
func (c Config) validate() error {
	if !tableName.MatchString(c.Table) {
		return fmt.Errorf("%w: table name %q", ErrConfig, c.Table)
	}
	if c.ClusterCIDR != nil && !isIPv4Net(c.ClusterCIDR) {
		return fmt.Errorf("%w: cluster CIDR %s is not IPv4", ErrConfig, c.ClusterCIDR)
	}
	if c.NetNS < 0 {
		return fmt.Errorf("%w: netns fd %d", ErrConfig, c.NetNS)
	}
	return nil
}
