package dns

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// bigCluster has a headless service with 60 endpoints: ~1 KB of A
// records, more than 512 bytes and less than 4096.
func bigCluster() []runtime.Object {
	ports := []discoveryv1.EndpointPort{slicePort("http", tcp, 80)}
	return []runtime.Object{
		service("default", "many", corev1.ServiceTypeClusterIP, []string{"None"}),
		slice("default", "many-1", "many", v4, ports, endpointIPs(7, 60)...),
		service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"}),
	}
}

func TestSizes(t *testing.T) {
	ts := startServer(t, Config{}, bigCluster()...)
	addr := ts.Addr().String()
	const many = "many.default.svc.cluster.local."
	const srv = "_http._tcp.many.default.svc.cluster.local."
	tests := []struct {
		name         string
		network      string
		qname        string
		qtype        uint16
		edns         uint16
		answers      int // -1: fewer than all, with TC
		extra        int
		wantOPT      bool
		wantTC       bool
		maxWireBytes int
	}{
		{"no EDNS0: 512 bytes, TC", "udp", many, dns.TypeA, 0, -1, 0, false, true, 512},
		{"EDNS0 4096", "udp", many, dns.TypeA, 4096, 60, 0, true, false, 4096},
		{"EDNS0 below 512 counts as 512", "udp", many, dns.TypeA, 100, -1, 0, true, true, 512},
		{"TCP", "tcp", many, dns.TypeA, 0, 60, 0, false, false, 65535},
		{"SRV over TCP with additionals", "tcp", srv, dns.TypeSRV, 0, 60, 60, false, false, 65535},
		{"SRV in 1232 bytes: not all answers fit, TC", "udp", srv, dns.TypeSRV, 1232, 0, 0, true, true, 1232},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(tt.qname, tt.qtype)
			if tt.edns > 0 {
				q.SetEdns0(tt.edns, false)
			}
			raw := exchangeRaw(t, addr, tt.network, q)
			if len(raw) > tt.maxWireBytes {
				t.Errorf("reply is %d bytes, limit %d", len(raw), tt.maxWireBytes)
			}
			r := new(dns.Msg)
			if err := r.Unpack(raw); err != nil {
				t.Fatal(err)
			}
			if got := r.IsEdns0() != nil; got != tt.wantOPT {
				t.Errorf("OPT in reply: %v, want %v", got, tt.wantOPT)
			}
			switch {
			case tt.answers == -1:
				if !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= 60 {
					t.Errorf("%d answers, TC %v; want some but not all, and TC", len(r.Answer), r.Truncated)
				}
			case tt.answers == 0 && tt.qtype == dns.TypeSRV:
				// 60 SRV records of ~45 bytes compressed do not fit
				// 1232 bytes either: TC, with what fits.
				if !r.Truncated {
					t.Errorf("TC not set with %d of 60 SRV records", len(r.Answer))
				}
			default:
				if len(r.Answer) != tt.answers || r.Truncated != tt.wantTC {
					t.Errorf("%d answers, TC %v; want %d, TC %v", len(r.Answer), r.Truncated, tt.answers, tt.wantTC)
				}
				if extra := len(r.Extra) - btoi(r.IsEdns0() != nil); extra != tt.extra {
					t.Errorf("%d additional records, want %d", extra, tt.extra)
				}
			}
		})
	}
}

// TestAdditionalOnlyTruncation: dropping additional records does not
// set TC (RFC 2181 section 9).
func TestAdditionalOnlyTruncation(t *testing.T) {
	ports := []discoveryv1.EndpointPort{slicePort("http", tcp, 80)}
	ts := startServer(t, Config{},
		service("default", "few", corev1.ServiceTypeClusterIP, []string{"None"}),
		slice("default", "few-1", "few", v6, ports, func() []ep {
			var eps []ep
			for i := range 6 {
				eps = append(eps, ep{ip: fmt.Sprintf("fd00:42::%x", i+1), hostname: fmt.Sprintf("h%d", i)})
			}
			return eps
		}()...))
	r := ask(t, ts.Addr().String(), "udp", "_http._tcp.few.default.svc.cluster.local.", dns.TypeSRV, 0)
	if len(r.Answer) != 6 {
		t.Fatalf("%d SRV answers, want all 6 (they fit in 512 bytes)", len(r.Answer))
	}
	if len(r.Extra) == 6 {
		t.Fatalf("all 6 additional records fit; the fixture does not test truncation")
	}
	if r.Truncated {
		t.Errorf("TC set although only additional records were dropped (%d of 6 kept)", len(r.Extra))
	}
}

func TestRequestChecks(t *testing.T) {
	ts := startServer(t, Config{}, bigCluster()...)
	addr := ts.Addr().String()
	const web = "web.default.svc.cluster.local."
	tests := []struct {
		name  string
		build func(m *dns.Msg)
		rcode int
	}{
		{"class CH refused", func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }, dns.RcodeRefused},
		{"EDNS version 1", func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }, dns.RcodeBadVers},
		{"NOTIFY not implemented", func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }, dns.RcodeNotImplemented},
		{"UPDATE not implemented", func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }, dns.RcodeNotImplemented},
		{"two questions", func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }, dns.RcodeFormatError},
		{"plain query", func(*dns.Msg) {}, dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(web, dns.TypeA)
			tt.build(q)
			r := new(dns.Msg)
			if err := r.Unpack(exchangeRaw(t, addr, "udp", q)); err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode || r.Id != q.Id {
				t.Errorf("rcode %s id %d, want %s id %d", dns.RcodeToString[r.Rcode], r.Id, dns.RcodeToString[tt.rcode], q.Id)
			}
		})
	}
}

// exchangeRaw sends q and returns the reply's bytes as they came.
func exchangeRaw(t *testing.T, addr, network string, q *dns.Msg) []byte {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 3 * time.Second}
	conn, err := c.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.UDPSize = 65535
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if err := conn.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	raw, err := conn.ReadMsgHeader(nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
