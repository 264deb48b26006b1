// Package network holds the node's networking: CNI configuration and the
// routes that keep cluster traffic on the machine.
package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureUnreachable installs `unreachable` routes for the cluster's CIDRs
// in the current network namespace: more specific routes (the local
// bridge, other nodes) win, and a packet for a cluster address with
// nowhere to go fails at once instead of leaving by the default route.
func EnsureUnreachable(cidrs ...*net.IPNet) error {
	for _, c := range cidrs {
		if c == nil {
			continue
		}
		r := &netlink.Route{Dst: c, Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("network: unreachable route %s: %w", c, err)
		}
	}
	return nil
}

// RemoveUnreachable deletes the routes EnsureUnreachable installed.
func RemoveUnreachable(cidrs ...*net.IPNet) error {
	var errs []error
	for _, c := range cidrs {
		if c == nil {
			continue
		}
		r := &netlink.Route{Dst: c, Type: unix.RTN_UNREACHABLE, Table: unix.RT_TABLE_MAIN}
		if err := netlink.RouteDel(r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("network: remove route %s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// RouteServices sends the service CIDR to the node's pod bridge,
// creating the bridge if CNI has not yet. The service proxy rewrites
// packets to cluster IPs before they leave; this route only gives
// locally sent packets a way out of the routing decision, which comes
// before the proxy's output hook (an unreachable route would fail them
// first). A packet no rule rewrote dies on the bridge, unanswered, and
// never reaches the default route.
func RouteServices(bridge string, cidr *net.IPNet) error {
	link, err := netlink.LinkByName(bridge)
	if err != nil {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("network: bridge %s: %w", bridge, err)
		}
		if link, err = netlink.LinkByName(bridge); err != nil {
			return fmt.Errorf("network: bridge %s: %w", bridge, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("network: bridge %s up: %w", bridge, err)
	}
	r := &netlink.Route{Dst: cidr, LinkIndex: link.Attrs().Index, Scope: netlink.SCOPE_LINK, Table: unix.RT_TABLE_MAIN}
	// The unreachable route for the same prefix, if any, is replaced.
	if err := netlink.RouteReplace(r); err != nil {
		return fmt.Errorf("network: service route %s dev %s: %w", cidr, bridge, err)
	}
	return nil
}
