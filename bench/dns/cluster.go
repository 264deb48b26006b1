package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// shape is the simulated cluster: services spread over namespaces, every
// headlessEvery-th one headless, each with the same number of endpoints
// (StatefulSet-style hostnames on headless services).
type shape struct {
	domain        string
	services      int
	endpoints     int
	namespaces    int
	headlessEvery int
}

func (c shape) ns(i int) string  { return fmt.Sprintf("ns-%d", i%c.namespaces) }
func (c shape) svc(i int) string { return fmt.Sprintf("svc-%d", i) }
func (c shape) headless(i int) bool {
	return c.headlessEvery > 0 && i%c.headlessEvery == c.headlessEvery-1
}
func (c shape) host(i, j int) string {
	return fmt.Sprintf("%s-%d", c.svc(i), j)
}

// clusterIP is 10.43.0.0/16 from 10.43.1.0 on.
func (c shape) clusterIP(i int) netip.Addr {
	k := i + 256
	return netip.AddrFrom4([4]byte{10, 43, byte(k >> 8), byte(k)})
}

// endpointIP is 10.42.0.0/16 from 10.42.0.1 on (up to 65,534 endpoints).
func (c shape) endpointIP(i, j int) netip.Addr {
	k := i*c.endpoints + j + 1
	return netip.AddrFrom4([4]byte{10, 42, byte(k >> 8), byte(k)})
}

func (c shape) fqdn(parts ...string) string {
	return strings.Join(parts, ".") + "." + c.domain + "."
}

// objects returns the Services and EndpointSlices of the cluster.
func (c shape) objects() []runtime.Object {
	var objs []runtime.Object
	for i := range c.services {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: c.ns(i), Name: c.svc(i)},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}}},
		}
		ip := c.clusterIP(i).String()
		if c.headless(i) {
			ip = corev1.ClusterIPNone
		}
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
		objs = append(objs, svc, c.slice(i))
	}
	return objs
}

func (c shape) slice(i int) *discoveryv1.EndpointSlice {
	name, proto, port := "http", corev1.ProtocolTCP, int32(8080)
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.ns(i), Name: c.svc(i) + "-1",
			Labels: map[string]string{discoveryv1.LabelServiceName: c.svc(i)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
	}
	for j := range c.endpoints {
		ready := true
		ep := discoveryv1.Endpoint{Addresses: []string{c.endpointIP(i, j).String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
		if c.headless(i) {
			h := c.host(i, j)
			ep.Hostname = &h
		}
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}

// query is one name the load sends, with what a correct answer has.
type query struct {
	kind    string
	name    string
	qtype   uint16
	rcode   int
	answers int // at least this many
}

var kinds = []string{"svc", "headless", "host", "srv", "pod", "nx"}

// queries lists, for every kind asked for, one query per service that
// has such a name.
func (c shape) queries(want map[string]bool) []query {
	var out []query
	add := func(q query) {
		if want[q.kind] {
			out = append(out, q)
		}
	}
	for i := range c.services {
		ns, svc := c.ns(i), c.svc(i)
		add(query{"nx", c.fqdn("missing-"+svc, ns, "svc"), dns.TypeA, dns.RcodeNameError, 0})
		if c.endpoints > 0 {
			pod := strings.ReplaceAll(c.endpointIP(i, 0).String(), ".", "-")
			add(query{"pod", c.fqdn(pod, ns, "pod"), dns.TypeA, dns.RcodeSuccess, 1})
		}
		if !c.headless(i) {
			add(query{"svc", c.fqdn(svc, ns, "svc"), dns.TypeA, dns.RcodeSuccess, 1})
			add(query{"srv", c.fqdn("_http._tcp."+svc, ns, "svc"), dns.TypeSRV, dns.RcodeSuccess, 1})
			continue
		}
		if c.endpoints > 0 {
			add(query{"headless", c.fqdn(svc, ns, "svc"), dns.TypeA, dns.RcodeSuccess, c.endpoints})
			add(query{"host", c.fqdn(c.host(i, i%c.endpoints), svc, ns, "svc"), dns.TypeA, dns.RcodeSuccess, 1})
		}
	}
	return out
}

// writeZone writes the same names as a zone file for CoreDNS's file
// plugin; pod names are listed for the addresses the load asks about.
func (c shape) writeZone(w io.Writer) error {
	b := bufio.NewWriter(w)
	z := c.domain + "."
	fmt.Fprintf(b, "$ORIGIN %s\n$TTL 5\n", z)
	fmt.Fprintf(b, "@ IN SOA ns.dns.%s hostmaster.%s 1 7200 1800 86400 5\n@ IN NS ns.dns.%s\nns.dns IN A 10.43.0.10\n", z, z, z)
	for i := range c.services {
		ns, svc := c.ns(i), c.svc(i)
		base := svc + "." + ns + ".svc"
		if c.endpoints > 0 {
			ip := c.endpointIP(i, 0)
			fmt.Fprintf(b, "%s.%s.pod IN A %s\n", strings.ReplaceAll(ip.String(), ".", "-"), ns, ip)
		}
		if !c.headless(i) {
			fmt.Fprintf(b, "%s IN A %s\n", base, c.clusterIP(i))
			fmt.Fprintf(b, "_http._tcp.%s IN SRV 0 100 80 %s.%s\n", base, base, z)
			continue
		}
		for j := range c.endpoints {
			fmt.Fprintf(b, "%s IN A %s\n", base, c.endpointIP(i, j))
			fmt.Fprintf(b, "%s.%s IN A %s\n", c.host(i, j), base, c.endpointIP(i, j))
			fmt.Fprintf(b, "_http._tcp.%s IN SRV 0 %d 8080 %s.%s.%s\n", base, max(1, 100/c.endpoints), c.host(i, j), base, z)
		}
	}
	return b.Flush()
}
