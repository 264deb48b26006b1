package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes skiff installs to other nodes' pod
// CIDRs, so a restarted agent finds (and prunes) its own and no other.
const RouteProtocol netlink.RouteProtocol = 0x5b

// PeerRoute sends a node's pod CIDR to that node's IP (host-gw: nodes
// share a link, no encapsulation).
type PeerRoute struct {
	PodCIDR *net.IPNet
	NodeIP  net.IP
}

// SyncPeerRoutes makes the routes with RouteProtocol in the main table
// exactly want: it replaces the ones that changed and removes the rest.
// A route whose gateway is not on a local link fails alone; the error
// names each failure and the others are still installed.
func SyncPeerRoutes(want []PeerRoute) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("network: list routes: %w", err)
	}
	var errs []error
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.PodCIDR.String()] = true
		if routeIs(have, w) {
			continue
		}
		r := &netlink.Route{Dst: w.PodCIDR, Gw: w.NodeIP, Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}
		if err := netlink.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("network: route %s via %s: %w", w.PodCIDR, w.NodeIP, err))
		}
	}
	for i := range have {
		r := &have[i]
		if r.Dst != nil && !wanted[r.Dst.String()] {
			if err := netlink.RouteDel(r); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("network: remove route %s: %w", r.Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}

func routeIs(have []netlink.Route, w PeerRoute) bool {
	for _, r := range have {
		if r.Dst != nil && r.Dst.String() == w.PodCIDR.String() && r.Gw.Equal(w.NodeIP) {
			return true
		}
	}
	return false
}
