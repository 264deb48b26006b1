package proxy

import (
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// UDP has no connections to end, so conntrack keeps a flow's NAT decision
// as long as packets keep coming: a client that keeps its source port
// would keep talking to a removed endpoint, or (if its first packets came
// before the Service had endpoints) to nothing. After a sync, the flows
// of removed UDP endpoints, and all flows to a UDP port that just got its
// first endpoints, are deleted, as kube-proxy does.

const protoUDP = 17

// staleUDP returns conntrack filters for the flows the changes from
// applied to pending leave stale.
func staleUDP(applied, pending map[types.NamespacedName][]*svcPort) []netlink.CustomConntrackFilter {
	var out []netlink.CustomConntrackFilter
	for name, ports := range pending {
		old := map[string]*svcPort{}
		for _, p := range applied[name] {
			old[p.key] = p
		}
		for _, p := range ports {
			if p.proto == protoUDP {
				out = append(out, portFilters(old[p.key], p)...)
			}
			delete(old, p.key)
		}
		for _, p := range old {
			if p.proto == protoUDP {
				out = append(out, portFilters(p, nil)...)
			}
		}
	}
	return out
}

// portFilters compares one UDP port before (nil: new) and after (nil:
// gone).
func portFilters(before, after *svcPort) []netlink.CustomConntrackFilter {
	var out []netlink.CustomConntrackFilter
	was, now := usedEndpoints(before), usedEndpoints(after)
	if after != nil && len(was) == 0 && len(now) > 0 {
		for _, ip := range append([][4]byte{after.clusterIP}, after.externals...) {
			out = append(out, udpFilter(ip[:], after.port, nil))
		}
		if after.nodePort != 0 {
			out = append(out, udpFilter(nil, after.nodePort, nil))
		}
	}
	if before == nil {
		return out
	}
	for _, ep := range was {
		if slices.Contains(now, ep) {
			continue
		}
		for _, ip := range append([][4]byte{before.clusterIP}, before.externals...) {
			out = append(out, udpFilter(ip[:], before.port, ep.ip[:]))
		}
		if before.nodePort != 0 {
			out = append(out, udpFilter(nil, before.nodePort, ep.ip[:]))
		}
	}
	return out
}

func usedEndpoints(p *svcPort) []endpoint {
	if p == nil {
		return nil
	}
	out := slices.Clone(p.clusterEPs)
	for _, ep := range p.localEPs {
		if !slices.Contains(out, ep) {
			out = append(out, ep)
		}
	}
	return out
}

// udpFilter matches UDP flows to dst (any address if nil) and port,
// answered from ep (any if nil).
func udpFilter(dst net.IP, port uint16, ep net.IP) netlink.CustomConntrackFilter {
	f := &netlink.ConntrackFilter{}
	_ = f.AddProtocol(protoUDP)
	_ = f.AddPort(netlink.ConntrackOrigDstPort, port)
	if dst != nil {
		_ = f.AddIP(netlink.ConntrackOrigDstIP, dst)
	}
	if ep != nil {
		_ = f.AddIP(netlink.ConntrackReplySrcIP, ep)
	}
	return f
}

// flowCleaner deletes conntrack entries through a socket it keeps open:
// closing a netfilter netlink socket waits for the kernel to finish
// freeing the last nftables transaction (see nlConn).
type flowCleaner struct {
	netns int
	h     *netlink.Handle
}

// delete deletes the flows the filters match.
func (c *flowCleaner) delete(filters []netlink.CustomConntrackFilter) (uint, error) {
	if len(filters) == 0 {
		return 0, nil
	}
	if c.h == nil {
		var err error
		if c.netns > 0 {
			c.h, err = netlink.NewHandleAt(netns.NsHandle(c.netns), unix.NETLINK_NETFILTER)
		} else {
			c.h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
		}
		if err != nil {
			return 0, fmt.Errorf("proxy: conntrack socket: %w", err)
		}
	}
	n, err := c.h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...)
	if err != nil {
		c.close()
		return n, fmt.Errorf("proxy: delete stale UDP flows: %w", err)
	}
	return n, nil
}

func (c *flowCleaner) close() {
	if c.h != nil {
		c.h.Close()
		c.h = nil
	}
}
