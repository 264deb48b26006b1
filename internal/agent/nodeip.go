package agent

import (
	"errors"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
)

// DefaultNodeIP returns the address of the interface holding the default
// route, or else the first global IPv4 address of the host.
func DefaultNodeIP() (net.IP, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err == nil {
		for _, r := range routes {
			if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" {
				continue
			}
			link, err := netlink.LinkByIndex(r.LinkIndex)
			if err != nil {
				continue
			}
			addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
			for _, a := range addrs {
				if a.IP.IsGlobalUnicast() {
					return a.IP, nil
				}
			}
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP, nil
		}
	}
	return nil, errors.New("agent: no IPv4 address to use as node IP; set --node-ip")
}

// DefaultNodeName is the host name in lower case, as the kubelet uses it.
func DefaultNodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "skiff-node"
	}
	return strings.ToLower(h)
}
