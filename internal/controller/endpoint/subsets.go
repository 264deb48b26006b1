package endpoint

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

// buildSubsets returns the subsets of the service's Endpoints: each pod
// that belongs in them contributes its address to every port it resolves,
// and the ports served by the same addresses form one subset. With
// publishNotReadyAddresses every address is ready and terminating pods
// stay in. The result is sorted, so that an unchanged service yields
// equal subsets.
func buildSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	publish := svc.Spec.PublishNotReadyAddresses
	portless := len(svc.Spec.Ports) == 0 && svc.Spec.ClusterIP == corev1.ClusterIPNone
	g := grouper{}
	for _, p := range pods {
		if !endpointutil.Include(p, publish) {
			continue
		}
		addr, ok := address(svc, p)
		if !ok {
			continue
		}
		ready := publish || endpointutil.Ready(p)
		if portless {
			g.add(nil, addr, ready)
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, ok := endpointutil.FindPort(p, sp)
			if !ok {
				continue // the pod has no port of that name
			}
			g.add(&corev1.EndpointPort{Name: sp.Name, Port: num, Protocol: endpointutil.Protocol(sp), AppProtocol: sp.AppProtocol}, addr, ready)
		}
	}
	return g.subsets()
}

// address returns the pod's address in the service's Endpoints, of the
// service's primary IP family; ok is false if the pod has no IP of it.
func address(svc *corev1.Service, p *corev1.Pod) (corev1.EndpointAddress, bool) {
	v6 := primaryIPv6(svc, p)
	for _, ip := range endpointutil.PodIPs(p) {
		if endpointutil.IsIPv6(ip) != v6 {
			continue
		}
		a := corev1.EndpointAddress{
			IP:        ip,
			Hostname:  endpointutil.Hostname(p, svc),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.NodeName != "" {
			node := p.Spec.NodeName
			a.NodeName = &node
		}
		return a, true
	}
	return corev1.EndpointAddress{}, false
}

// primaryIPv6 reports whether the service's primary IP family is IPv6:
// its first ipFamilies entry, else its cluster IP's family, else (headless)
// the pod's primary IP's.
func primaryIPv6(svc *corev1.Service, p *corev1.Pod) bool {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	}
	if !endpointutil.Headless(svc) {
		return endpointutil.IsIPv6(svc.Spec.ClusterIP)
	}
	ips := endpointutil.PodIPs(p)
	return len(ips) > 0 && endpointutil.IsIPv6(ips[0])
}

// grouper collects, per port, the addresses serving it, then groups the
// ports with the same addresses into subsets.
type grouper map[string]*portGroup

type portGroup struct {
	port  *corev1.EndpointPort // nil: a headless service without ports
	addrs map[addrKey]member
}

type addrKey struct {
	ip  string
	uid types.UID
}

type member struct {
	addr  corev1.EndpointAddress
	ready bool
}

func (g grouper) add(port *corev1.EndpointPort, addr corev1.EndpointAddress, ready bool) {
	k := portKey(port)
	pg := g[k]
	if pg == nil {
		pg = &portGroup{port: port, addrs: map[addrKey]member{}}
		g[k] = pg
	}
	ak := addrKey{ip: addr.IP, uid: addr.TargetRef.UID}
	if m, ok := pg.addrs[ak]; !ok || (ready && !m.ready) {
		pg.addrs[ak] = member{addr: addr, ready: ready}
	}
}

func portKey(p *corev1.EndpointPort) string {
	if p == nil {
		return ""
	}
	app := ""
	if p.AppProtocol != nil {
		app = *p.AppProtocol
	}
	return fmt.Sprintf("%s/%d/%s/%s", p.Name, p.Port, p.Protocol, app)
}

// subsets returns one subset per distinct set of addresses, with the
// ports that set serves, sorted.
func (g grouper) subsets() []corev1.EndpointSubset {
	bySet := map[string]*corev1.EndpointSubset{}
	for _, pg := range g {
		sig := signature(pg.addrs)
		ss := bySet[sig]
		if ss == nil {
			ss = &corev1.EndpointSubset{}
			for _, m := range pg.addrs {
				if m.ready {
					ss.Addresses = append(ss.Addresses, m.addr)
				} else {
					ss.NotReadyAddresses = append(ss.NotReadyAddresses, m.addr)
				}
			}
			slices.SortFunc(ss.Addresses, compareAddresses)
			slices.SortFunc(ss.NotReadyAddresses, compareAddresses)
			bySet[sig] = ss
		}
		if pg.port != nil {
			ss.Ports = append(ss.Ports, *pg.port)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(bySet))
	for _, ss := range bySet {
		slices.SortFunc(ss.Ports, comparePorts)
		out = append(out, *ss)
	}
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int { return compareFirstPorts(a.Ports, b.Ports) })
	return out
}

// signature identifies a set of addresses with their readiness.
func signature(addrs map[addrKey]member) string {
	parts := make([]string, 0, len(addrs))
	for k, m := range addrs {
		parts = append(parts, fmt.Sprintf("%s|%s|%t", k.ip, k.uid, m.ready))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// compareAddresses orders addresses by IP (numerically), then pod UID.
func compareAddresses(a, b corev1.EndpointAddress) int {
	ia, errA := netip.ParseAddr(a.IP)
	ib, errB := netip.ParseAddr(b.IP)
	c := strings.Compare(a.IP, b.IP)
	if errA == nil && errB == nil {
		c = ia.Compare(ib)
	}
	return cmp.Or(c, strings.Compare(string(uid(a)), string(uid(b))))
}

func uid(a corev1.EndpointAddress) types.UID {
	if a.TargetRef == nil {
		return ""
	}
	return a.TargetRef.UID
}

func comparePorts(a, b corev1.EndpointPort) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
}

// compareFirstPorts orders subsets of sorted ports by their first port;
// no two subsets share a port, so this is a total order.
func compareFirstPorts(a, b []corev1.EndpointPort) int {
	if len(a) == 0 || len(b) == 0 {
		return cmp.Compare(len(a), len(b))
	}
	return comparePorts(a[0], b[0])
}

// truncate keeps at most limit addresses over all subsets: ready ones
// first, the not-ready ones sharing what room is left; each subset keeps a
// share in proportion to its size. It reports whether anything was cut.
func truncate(subsets []corev1.EndpointSubset, limit int) ([]corev1.EndpointSubset, bool) {
	ready, total := 0, 0
	for _, ss := range subsets {
		ready += len(ss.Addresses)
		total += len(ss.Addresses) + len(ss.NotReadyAddresses)
	}
	if total <= limit {
		return subsets, false
	}
	// Past the limit in ready addresses alone, they share it and the
	// not-ready ones go; else the not-ready ones share what is left.
	readyOnly, room := ready >= limit, limit-ready
	if readyOnly {
		room = limit
	}
	sizes := make([]int, len(subsets))
	for i, ss := range subsets {
		sizes[i] = len(ss.NotReadyAddresses)
		if readyOnly {
			sizes[i] = len(ss.Addresses)
		}
	}
	keep := share(sizes, room)
	out := make([]corev1.EndpointSubset, 0, len(subsets))
	for i, ss := range subsets {
		if readyOnly {
			ss.Addresses, ss.NotReadyAddresses = ss.Addresses[:keep[i]], nil
		} else {
			ss.NotReadyAddresses = ss.NotReadyAddresses[:keep[i]]
		}
		if len(ss.Addresses)+len(ss.NotReadyAddresses) > 0 {
			out = append(out, ss)
		}
	}
	return out, true
}

// share divides n among groups of the given sizes in proportion to them,
// rounding up in order, never giving a group more than its size nor more
// than n in all.
func share(sizes []int, n int) []int {
	total := 0
	for _, s := range sizes {
		total += s
	}
	out := make([]int, len(sizes))
	left := n
	for i, s := range sizes {
		if total == 0 {
			break
		}
		out[i] = min((s*n+total-1)/total, s, left)
		left -= out[i]
	}
	return out
}
