package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// stub is an upstream resolver on 127.0.0.1 that the tests control:
//
//	example.com.   A 192.0.2.1
//	big.example.   TC over UDP; 100 A records over TCP
//	fail.example.  SERVFAIL
//	anything else  NXDOMAIN
//
// It records every query it gets, so tests can check what was forwarded.
type stub struct {
	addr string
	mu   sync.Mutex
	seen []string // "udp name" / "tcp name"
}

func startStub(t *testing.T) *stub {
	t.Helper()
	st := &stub{}
	st.addr = serveDNS(t, st, true)
	return st
}

// serveDNS serves h on 127.0.0.1:0 over UDP (and TCP on the same port
// if withTCP) until the test ends.
func serveDNS(t *testing.T, h dns.Handler, withTCP bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	servers := []*dns.Server{{PacketConn: pc, Handler: h}}
	if withTCP {
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			_ = pc.Close()
			t.Fatal(err)
		}
		servers = append(servers, &dns.Server{Listener: ln, Handler: h})
	}
	for _, srv := range servers {
		started := make(chan struct{})
		done := make(chan error, 1)
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { done <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-done:
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = srv.Shutdown()
			<-done
		})
	}
	return pc.LocalAddr().String()
}

func (st *stub) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	overTCP := w.RemoteAddr().Network() == "tcp"
	st.mu.Lock()
	st.seen = append(st.seen, fmt.Sprintf("%s %s", w.RemoteAddr().Network(), strings.ToLower(q.Name)))
	st.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	switch strings.ToLower(q.Name) {
	case "example.com.":
		if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		}
	case "big.example.":
		if !overTCP {
			m.Truncated = true
			break
		}
		for i := range 100 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, byte(i))})
		}
	case "fail.example.":
		m.Rcode = dns.RcodeServerFailure
	default:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func (st *stub) queries() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.seen...)
}

// blackhole is an upstream that reads queries and never answers.
func blackhole(t *testing.T) (addr string, packets func() int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		<-done
	})
	return pc.LocalAddr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

func TestForward(t *testing.T) {
	st := startStub(t)
	ts := startServer(t, Config{Upstreams: []string{st.addr}},
		service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"}))
	addr := ts.Addr().String()

	r := ask(t, addr, "udp", "Example.COM.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("forwarded A: %v", r)
	}
	if r.Authoritative {
		t.Error("a forwarded answer claims authority")
	}
	if r = ask(t, addr, "udp", "nothing.example.", dns.TypeA, 0); r.Rcode != dns.RcodeNameError {
		t.Errorf("upstream NXDOMAIN came back as %s", dns.RcodeToString[r.Rcode])
	}

	// Truncated over UDP upstream: retried over TCP. The whole answer fits
	// a client with a 4096-byte buffer; a client without EDNS0 gets TC
	// and the whole answer when it asks over TCP.
	r = ask(t, addr, "udp", "big.example.", dns.TypeA, 4096)
	if len(r.Answer) != 100 || r.Truncated {
		t.Errorf("big answer with EDNS0 4096: %d records, TC %v; want 100 records, no TC", len(r.Answer), r.Truncated)
	}
	r = ask(t, addr, "udp", "big.example.", dns.TypeA, 0)
	if !r.Truncated || len(r.Answer) >= 100 {
		t.Errorf("big answer in 512 bytes: %d records, TC %v; want fewer than 100 and TC", len(r.Answer), r.Truncated)
	}
	if r = ask(t, addr, "tcp", "big.example.", dns.TypeA, 0); len(r.Answer) != 100 || r.Truncated {
		t.Errorf("big answer over TCP: %d records, TC %v", len(r.Answer), r.Truncated)
	}

	// Cluster names, and PTRs the index has, never leave.
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"nope.default.svc.cluster.local.", dns.TypeA},
		{"web.default.svc.cluster.local.", dns.TypeMX},
		{"cluster.local.", dns.TypeNS},
		{"20.0.43.10.in-addr.arpa.", dns.TypePTR},
	} {
		if r := ask(t, addr, "udp", q.name, q.qtype, 0); !r.Authoritative {
			t.Errorf("%s: not answered authoritatively: %v", q.name, r)
		}
	}
	want := []string{"udp example.com.", "udp nothing.example.", "udp big.example.", "tcp big.example.",
		"udp big.example.", "tcp big.example.", "udp big.example.", "tcp big.example."}
	if got := st.queries(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("upstream saw %q\nwant          %q", got, want)
	}
}

func TestForwardFailover(t *testing.T) {
	st := startStub(t)
	dead, packets := blackhole(t)
	ts := startServer(t, Config{Upstreams: []string{dead, st.addr}, ForwardTimeout: 500 * time.Millisecond})
	addr := ts.Addr().String()
	for i := range 3 {
		r := ask(t, addr, "udp", "example.com.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("query %d through a dead first upstream: %v", i, r)
		}
	}
	// The dead upstream cost one timeout; later queries start at the one
	// that answered.
	if n := packets(); n != 1 {
		t.Errorf("dead upstream got %d queries, want 1", n)
	}
}

func TestForwardFailures(t *testing.T) {
	st := startStub(t)
	dead, _ := blackhole(t)
	tests := []struct {
		name      string
		upstreams []string
		qname     string
		want      int
	}{
		{"no upstream", []string{}, "example.com.", dns.RcodeServerFailure},
		{"all dead", []string{dead}, "example.com.", dns.RcodeServerFailure},
		{"upstream SERVFAIL passed on", []string{st.addr}, "fail.example.", dns.RcodeServerFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Config{Upstreams: tt.upstreams, ForwardTimeout: 200 * time.Millisecond})
			if r := ask(t, ts.Addr().String(), "udp", tt.qname, dns.TypeA, 0); r.Rcode != tt.want {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.want])
			}
		})
	}
}

// A SERVFAIL from one upstream sends the query to the next.
func TestForwardNextOnServfail(t *testing.T) {
	good := startStub(t)
	failing := serveDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		_ = w.WriteMsg(m)
	}), false)
	f := newForwarder([]string{failing, good.addr}, time.Second)
	q := new(dns.Msg)
	q.SetQuestion("example.com.", dns.TypeA)
	r, err := f.forward(context.Background(), q)
	if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("forward: %v %v", r, err)
	}
	if f.preferred.Load() != 1 {
		t.Errorf("preferred upstream %d, want 1", f.preferred.Load())
	}
}

func TestForwardRejectsOtherQuestion(t *testing.T) {
	other := serveDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Question[0].Name = "evil.example."
		_ = w.WriteMsg(m)
	}), false)
	f := newForwarder([]string{other}, time.Second)
	q := new(dns.Msg)
	q.SetQuestion("example.com.", dns.TypeA)
	if _, err := f.forward(context.Background(), q); !errors.Is(err, errMismatch) || !errors.Is(err, errNoUpstream) {
		t.Errorf("forward: %v, want a mismatch", err)
	}
}

// Stub resolvers do not follow CNAMEs, so an ExternalName's target is
// resolved here: in the cluster from the index, outside through the
// upstreams.
func TestExternalNameChase(t *testing.T) {
	st := startStub(t)
	ext := func(name, target string) *corev1.Service {
		s := service("default", name, corev1.ServiceTypeExternalName, nil)
		s.Spec.ExternalName = target
		return s
	}
	ts := startServer(t, Config{Upstreams: []string{st.addr}},
		service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"}),
		ext("out", "example.com"),
		ext("in", "web.default.svc.cluster.local"),
		ext("hop", "in.default.svc.cluster.local"),
		ext("gone", "missing.default.svc.cluster.local"),
		ext("loop-a", "loop-b.default.svc.cluster.local"),
		ext("loop-b", "loop-a.default.svc.cluster.local"))
	tests := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"out", dns.TypeA, "NOERROR [A 192.0.2.1 CNAME example.com.]"},
		{"out", dns.TypeCNAME, "NOERROR [CNAME example.com.]"},
		{"in", dns.TypeA, "NOERROR [A 10.43.0.20 CNAME web.default.svc.cluster.local.]"},
		{"hop", dns.TypeA, "NOERROR [A 10.43.0.20 CNAME in.default.svc.cluster.local. CNAME web.default.svc.cluster.local.]"},
		{"gone", dns.TypeA, "NXDOMAIN [CNAME missing.default.svc.cluster.local.]"},
	}
	for _, tt := range tests {
		if got := answersOf(t, ts, tt.name+".default.svc.cluster.local.", tt.qtype); got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.name, dns.TypeToString[tt.qtype], got, tt.want)
		}
	}
	r := ts.ask(t, "loop-a.default.svc.cluster.local.", dns.TypeA)
	if len(r.Answer) != maxChase+1 {
		t.Errorf("CNAME loop: %d records, want %d", len(r.Answer), maxChase+1)
	}
	if q := st.queries(); len(q) != 1 || q[0] != "udp example.com." {
		t.Errorf("upstream saw %q, want only example.com.", q)
	}
}
