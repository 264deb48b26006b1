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
