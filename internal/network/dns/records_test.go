package dns

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	tcp = corev1.ProtocolTCP
	udp = corev1.ProtocolUDP
	v4  = discoveryv1.AddressTypeIPv4
	v6  = discoveryv1.AddressTypeIPv6
)

// cluster is the fixture the record tests query.
func cluster() []runtime.Object {
	pub := service("default", "pub", corev1.ServiceTypeClusterIP, []string{"None"})
	pub.Spec.PublishNotReadyAddresses = true
	ext := service("default", "ext", corev1.ServiceTypeExternalName, nil)
	ext.Spec.ExternalName = "Example.COM."
	dbPorts := []discoveryv1.EndpointPort{slicePort("peer", tcp, 5432), slicePort("stats", udp, 9000)}
	return []runtime.Object{
		service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"},
			port("http", tcp, 80), port("dns", udp, 53), port("metrics", tcp, 9090)),
		slice("default", "web-abc", "web", v4, []discoveryv1.EndpointPort{slicePort("http", tcp, 8080)},
			ep{ip: "10.42.0.11"}, ep{ip: "10.42.0.12", ready: ptr(false)}),
		service("default", "np", corev1.ServiceTypeNodePort, []string{"10.43.0.21"}, port("http", tcp, 80)),
		service("default", "lb", corev1.ServiceTypeLoadBalancer, []string{"10.43.0.22"}),
		service("default", "six", corev1.ServiceTypeClusterIP, []string{"fd00:43::30"}),
		service("default", "dual", corev1.ServiceTypeClusterIP, []string{"10.43.0.31", "fd00:43::31"}, port("http", tcp, 80)),
		service("default", "db", corev1.ServiceTypeClusterIP, []string{"None"}, port("peer", tcp, 5432)),
		slice("default", "db-1", "db", v4, dbPorts,
			ep{ip: "10.42.0.5", hostname: "db-0", ready: ptr(true)},
			ep{ip: "10.42.0.6", hostname: "db-1"},
			ep{ip: "10.42.0.7", ready: ptr(true)},
			ep{ip: "10.42.0.8", hostname: "db-3", ready: ptr(false)}),
		slice("default", "db-2", "db", v6, dbPorts, ep{ip: "fd00:42::5", hostname: "db-0"}),
		pub,
		slice("default", "pub-1", "pub", v4, nil, ep{ip: "10.42.0.9", ready: ptr(false)}, ep{ip: "10.42.0.10"}),
		ext,
		service("default", "empty", corev1.ServiceTypeClusterIP, []string{"None"}),
		service("other", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.40"}),
	}
}

type want struct {
	rcode  int
	answer []string
	extra  []string // "owner TYPE rdata"
	soa    bool     // an SOA in the authority section
}

const soaOnly = "soa"

func TestRecords(t *testing.T) {
	ts := startServer(t, Config{}, cluster()...)
	const zone = ".svc.cluster.local."
	tests := []struct {
		name  string
		qtype uint16
		want  want
	}{
		{"web.default" + zone, dns.TypeA, want{answer: []string{"A 10.43.0.20"}}},
		{"WeB.DeFault.SVC.Cluster.LOCAL.", dns.TypeA, want{answer: []string{"A 10.43.0.20"}}},
		{"web.other" + zone, dns.TypeA, want{answer: []string{"A 10.43.0.40"}}},
		{"web.default" + zone, dns.TypeAAAA, want{soa: true}},
		{"web.default" + zone, dns.TypeTXT, want{soa: true}},
		{"np.default" + zone, dns.TypeA, want{answer: []string{"A 10.43.0.21"}}},
		{"lb.default" + zone, dns.TypeA, want{answer: []string{"A 10.43.0.22"}}},
		{"six.default" + zone, dns.TypeAAAA, want{answer: []string{"AAAA fd00:43::30"}}},
		{"six.default" + zone, dns.TypeA, want{soa: true}},
		{"dual.default" + zone, dns.TypeA, want{answer: []string{"A 10.43.0.31"}}},
		{"dual.default" + zone, dns.TypeAAAA, want{answer: []string{"AAAA fd00:43::31"}}},

		// Endpoint names of a service with a cluster IP, as CoreDNS has them.
		{"10-42-0-11.web.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.11"}}},
		{"10-42-0-12.web.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},

		// Headless: ready endpoints only.
		{"db.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.5", "A 10.42.0.6", "A 10.42.0.7"}}},
		{"db.default" + zone, dns.TypeAAAA, want{answer: []string{"AAAA fd00:42::5"}}},
		{"db-0.db.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.5"}}},
		{"db-0.db.default" + zone, dns.TypeAAAA, want{answer: []string{"AAAA fd00:42::5"}}},
		{"db-1.db.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.6"}}},
		{"10-42-0-7.db.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.7"}}},
		{"db-3.db.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"10-42-0-5.db.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}}, // it has a hostname
		{"pub.default" + zone, dns.TypeA, want{answer: []string{"A 10.42.0.10", "A 10.42.0.9"}}},
		{"empty.default" + zone, dns.TypeA, want{soa: true}},

		// SRV: a cluster IP points at the service name.
		{"_http._tcp.web.default" + zone, dns.TypeSRV, want{
			answer: []string{"SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. A 10.43.0.20"}}},
		{"_dns._udp.web.default" + zone, dns.TypeSRV, want{answer: []string{"SRV 0 100 53 web.default.svc.cluster.local."},
			extra: []string{"web.default.svc.cluster.local. A 10.43.0.20"}}},
		{"_HTTP._TCP.web.default" + zone, dns.TypeSRV, want{answer: []string{"SRV 0 100 80 web.default.svc.cluster.local."},
			extra: []string{"web.default.svc.cluster.local. A 10.43.0.20"}}},
		{"_http._udp.web.default" + zone, dns.TypeSRV, want{rcode: dns.RcodeNameError, soa: true}},
		{"_http._tcp.web.default" + zone, dns.TypeA, want{soa: true}},
		{"_tcp.web.default" + zone, dns.TypeSRV, want{soa: true}}, // empty non-terminal
		{"web.default" + zone, dns.TypeSRV, want{
			answer: []string{"SRV 0 33 53 web.default.svc.cluster.local.", "SRV 0 33 80 web.default.svc.cluster.local.", "SRV 0 33 9090 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. A 10.43.0.20"}}},
		{"_http._tcp.dual.default" + zone, dns.TypeSRV, want{answer: []string{"SRV 0 100 80 dual.default.svc.cluster.local."},
			extra: []string{"dual.default.svc.cluster.local. A 10.43.0.31", "dual.default.svc.cluster.local. AAAA fd00:43::31"}}},

		// SRV: headless points at each endpoint.
		{"_peer._tcp.db.default" + zone, dns.TypeSRV, want{
			answer: []string{"SRV 0 33 5432 10-42-0-7.db.default.svc.cluster.local.", "SRV 0 33 5432 db-0.db.default.svc.cluster.local.", "SRV 0 33 5432 db-1.db.default.svc.cluster.local."},
			extra: []string{"10-42-0-7.db.default.svc.cluster.local. A 10.42.0.7", "db-0.db.default.svc.cluster.local. A 10.42.0.5",
				"db-0.db.default.svc.cluster.local. AAAA fd00:42::5", "db-1.db.default.svc.cluster.local. A 10.42.0.6"}}},
		{"_stats._udp.db.default" + zone, dns.TypeSRV, want{
			answer: []string{"SRV 0 33 9000 10-42-0-7.db.default.svc.cluster.local.", "SRV 0 33 9000 db-0.db.default.svc.cluster.local.", "SRV 0 33 9000 db-1.db.default.svc.cluster.local."},
			extra: []string{"10-42-0-7.db.default.svc.cluster.local. A 10.42.0.7", "db-0.db.default.svc.cluster.local. A 10.42.0.5",
				"db-0.db.default.svc.cluster.local. AAAA fd00:42::5", "db-1.db.default.svc.cluster.local. A 10.42.0.6"}}},
		{"db.default" + zone, dns.TypeSRV, want{
			answer: []string{"SRV 0 16 5432 10-42-0-7.db.default.svc.cluster.local.", "SRV 0 16 5432 db-0.db.default.svc.cluster.local.", "SRV 0 16 5432 db-1.db.default.svc.cluster.local.",
				"SRV 0 16 9000 10-42-0-7.db.default.svc.cluster.local.", "SRV 0 16 9000 db-0.db.default.svc.cluster.local.", "SRV 0 16 9000 db-1.db.default.svc.cluster.local."},
			extra: []string{"10-42-0-7.db.default.svc.cluster.local. A 10.42.0.7", "db-0.db.default.svc.cluster.local. A 10.42.0.5",
				"db-0.db.default.svc.cluster.local. AAAA fd00:42::5", "db-1.db.default.svc.cluster.local. A 10.42.0.6"}}},

		// ExternalName: a CNAME for every type.
		{"ext.default" + zone, dns.TypeA, want{answer: []string{"CNAME example.com."}}},
		{"ext.default" + zone, dns.TypeCNAME, want{answer: []string{"CNAME example.com."}}},

		// Pods.
		{"10-42-1-5.default.pod.cluster.local.", dns.TypeA, want{answer: []string{"A 10.42.1.5"}}},
		{"10-42-1-5.anyns.pod.cluster.local.", dns.TypeA, want{answer: []string{"A 10.42.1.5"}}},
		{"fd00-42--7.default.pod.cluster.local.", dns.TypeAAAA, want{answer: []string{"AAAA fd00:42::7"}}},
		{"10-42-1-5.default.pod.cluster.local.", dns.TypeAAAA, want{soa: true}},
		{"10-42-1.default.pod.cluster.local.", dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"x.10-42-1-5.default.pod.cluster.local.", dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"default.pod.cluster.local.", dns.TypeA, want{soa: true}},

		// Reverse.
		{"20.0.43.10.in-addr.arpa.", dns.TypePTR, want{answer: []string{"PTR web.default.svc.cluster.local."}}},
		{"5.0.42.10.in-addr.arpa.", dns.TypePTR, want{answer: []string{"PTR db-0.db.default.svc.cluster.local."}}},
		{"7.0.42.10.in-addr.arpa.", dns.TypePTR, want{answer: []string{"PTR 10-42-0-7.db.default.svc.cluster.local."}}},
		{mustReverse("fd00:43::31"), dns.TypePTR, want{answer: []string{"PTR dual.default.svc.cluster.local."}}},

		// Negative answers and the structure of the zone.
		{"nope.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"web.nons" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"default" + zone, dns.TypeA, want{soa: true}},
		{"nons" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"svc.cluster.local.", dns.TypeA, want{soa: true}},
		{"web.default.svc.cluster.local.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"a.b.web.default" + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{`we\.b.default` + zone, dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"foo.cluster.local.", dns.TypeA, want{rcode: dns.RcodeNameError, soa: true}},
		{"cluster.local.", dns.TypeSOA, want{answer: []string{soaOnly}}},
		{"cluster.local.", dns.TypeA, want{soa: true}},
		{"dns-version.cluster.local.", dns.TypeTXT, want{answer: []string{`TXT "1.1.0"`}}},
	}
	for _, tt := range tests {
		t.Run(dns.TypeToString[tt.qtype]+" "+tt.name, func(t *testing.T) {
			r := ts.ask(t, tt.name, tt.qtype)
			checkReply(t, r, tt.name, tt.want)
		})
	}
}

func checkReply(t *testing.T, r *dns.Msg, qname string, w want) {
	t.Helper()
	if r.Rcode != w.rcode {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[w.rcode])
	}
	if !r.Authoritative {
		t.Error("answer is not authoritative")
	}
	got := rrs(r.Answer)
	if len(w.answer) == 1 && w.answer[0] == soaOnly {
		if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("answer %v, want the SOA", got)
		}
	} else if diff := cmp.Diff(w.answer, got, emptyIsNil); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	for _, rr := range r.Answer {
		if rr.Header().Name != qname || rr.Header().Ttl != 5 {
			t.Errorf("answer %q has owner %q (want the question's) or TTL %d (want 5)", rr, rr.Header().Name, rr.Header().Ttl)
		}
	}
	var extra []string
	for _, rr := range r.Extra {
		extra = append(extra, rr.Header().Name+" "+rrs([]dns.RR{rr})[0])
	}
	slices.Sort(extra)
	if diff := cmp.Diff(w.extra, extra, emptyIsNil); diff != "" {
		t.Errorf("additional (-want +got):\n%s", diff)
	}
	hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA && r.Ns[0].Header().Name == "cluster.local."
	if hasSOA != w.soa || (!w.soa && len(r.Ns) > 0) {
		t.Errorf("authority %v, want SOA: %v", r.Ns, w.soa)
	}
	if w.soa && len(r.Answer) == 0 && !strings.Contains(r.Ns[0].String(), "ns.dns.cluster.local. hostmaster.cluster.local.") {
		t.Errorf("SOA %q", r.Ns[0])
	}
}

var emptyIsNil = cmp.Transformer("emptyIsNil", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func mustReverse(ip string) string {
	name, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return name
}
