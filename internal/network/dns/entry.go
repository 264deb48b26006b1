package dns

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// entry is the DNS view of one Service: every name under
// <svc>.<ns>.svc.<domain>, keyed by the labels before the service name
// ("" is the service name itself, then "web-0", "10-42-0-5",
// "_http._tcp" and the empty non-terminal "_tcp"). An entry is immutable
// once built; a change to the Service or its slices replaces it whole, so
// queries read it without locks.
type entry struct {
	names map[string]*node
	ptrs  []ptrRec // reverse records this service contributes
}

// node holds the records of one name.
type node struct {
	v4, v6 []net.IP
	cname  string // ExternalName target, fully qualified
	srv    []srvRec
}

// srvRec is one SRV answer with the target's addresses for the
// additional section.
type srvRec struct {
	port   uint16
	target string // fully qualified, lower case
	host   *node  // the target's node, whose addresses go in the additional section
}

type ptrRec struct {
	ip   netip.Addr
	name string // fully qualified
}

// builder collects the names of one entry.
type builder struct {
	base  string // <svc>.<ns>.svc.<domain>.
	names map[string]*node
	ptrs  []ptrRec
}

func (b *builder) node(label string) *node {
	n := b.names[label]
	if n == nil {
		n = &node{}
		b.names[label] = n
	}
	return n
}

// buildEntry computes the names of svc from the service and its
// EndpointSlices. zone is the cluster domain with a trailing dot.
func buildEntry(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, zone string) *entry {
	b := &builder{
		base:  svc.Name + "." + svc.Namespace + ".svc." + zone,
		names: map[string]*node{"": {}},
	}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		if target := strings.ToLower(strings.TrimSuffix(svc.Spec.ExternalName, ".")); target != "" {
			b.names[""].cname = target + "."
		}
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		b.addHeadless(endpointsOf(slices, svc.Spec.PublishNotReadyAddresses))
	default:
		b.addClusterIP(svc)
		// CoreDNS also answers <endpoint>.<svc> for services with a
		// cluster IP; only the A/AAAA names, no SRV or PTR.
		for _, ep := range endpointsOf(slices, svc.Spec.PublishNotReadyAddresses) {
			b.node(ep.label).add(ep.ip)
		}
	}
	return b.finish()
}

// addClusterIP adds the cluster IPs, their PTRs and an SRV per port that
// points at the service name.
func (b *builder) addClusterIP(svc *corev1.Service) {
	top := b.names[""]
	for _, ip := range clusterIPs(svc) {
		top.add(ip)
		b.ptrs = append(b.ptrs, ptrRec{ip: ip, name: b.base})
	}
	for _, p := range svc.Spec.Ports {
		rec := srvRec{port: uint16(p.Port), target: b.base, host: top}
		b.addSRV(p.Name, string(p.Protocol), rec)
	}
}

// addHeadless adds an address per endpoint at the service name and at
// the endpoint's own name, a PTR per address, and an SRV per endpoint
// and port that points at the endpoint's name.
func (b *builder) addHeadless(eps []endpoint) {
	top := b.names[""]
	for _, ep := range eps {
		top.add(ep.ip)
		b.node(ep.label).add(ep.ip)
		b.ptrs = append(b.ptrs, ptrRec{ip: ep.ip, name: ep.label + "." + b.base})
	}
	for _, ep := range eps {
		host := b.names[ep.label]
		for _, p := range ep.ports {
			rec := srvRec{port: p.port, target: ep.label + "." + b.base, host: host}
			b.addSRV(p.name, p.proto, rec)
		}
	}
}

// addSRV files rec under the plain service name (every port, as CoreDNS
// answers an SRV query without port and protocol) and, for a named port,
// under _<port>._<proto>, with the empty non-terminal _<proto>.
func (b *builder) addSRV(portName, proto string, rec srvRec) {
	b.names[""].addSRV(rec)
	if portName == "" {
		return
	}
	if proto == "" {
		proto = string(corev1.ProtocolTCP)
	}
	proto = "_" + strings.ToLower(proto)
	b.node("_" + strings.ToLower(portName) + "." + proto).addSRV(rec)
	b.node(proto)
}

// finish sorts every list and drops duplicates (an address in two
// slices while endpoints move, both stacks of a dual-stack pod under one
// hostname).
func (b *builder) finish() *entry {
	for _, n := range b.names {
		n.v4 = sortIPs(n.v4)
		n.v6 = sortIPs(n.v6)
		slices.SortFunc(n.srv, compareSRV)
		n.srv = slices.CompactFunc(n.srv, func(x, y srvRec) bool { return compareSRV(x, y) == 0 })
	}
	slices.SortFunc(b.ptrs, func(x, y ptrRec) int {
		if c := x.ip.Compare(y.ip); c != 0 {
			return c
		}
		return strings.Compare(x.name, y.name)
	})
	ptrs := slices.Compact(b.ptrs)
	return &entry{names: b.names, ptrs: ptrs}
}

func (n *node) add(ip netip.Addr) {
	if ip.Is4() {
		n.v4 = append(n.v4, net.IP(ip.AsSlice()))
	} else {
		n.v6 = append(n.v6, net.IP(ip.AsSlice()))
	}
}

func (n *node) addSRV(rec srvRec) { n.srv = append(n.srv, rec) }

func sortIPs(ips []net.IP) []net.IP {
	cmp := func(a, b net.IP) int { return strings.Compare(string(a), string(b)) }
	slices.SortFunc(ips, cmp)
	return slices.CompactFunc(ips, func(a, b net.IP) bool { return cmp(a, b) == 0 })
}

func compareSRV(x, y srvRec) int {
	if c := strings.Compare(x.target, y.target); c != 0 {
		return c
	}
	return int(x.port) - int(y.port)
}

// clusterIPs returns the valid addresses of spec.clusterIPs, or of
// spec.clusterIP on objects written before dual stack.
func clusterIPs(svc *corev1.Service) []netip.Addr {
	raw := svc.Spec.ClusterIPs
	if len(raw) == 0 && svc.Spec.ClusterIP != "" {
		raw = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range raw {
		if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
			out = append(out, ip.Unmap())
		}
	}
	return out
}
