package dns

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A query that arrives while the caches fill waits for them instead of
// getting NXDOMAIN from an empty index.
func TestQueriesWaitForSync(t *testing.T) {
	client := fake.NewClientset(service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"}))
	client.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		time.Sleep(300 * time.Millisecond)
		return false, nil, nil
	})
	s, err := New(Config{Client: client, Addr: "127.0.0.1:0", Upstreams: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, s)
	defer stop()
	r := ask(t, s.Addr().String(), "udp", "web.default.svc.cluster.local.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("query during the first sync: %v", r)
	}
	select {
	case <-s.Synced():
	default:
		t.Error("answered before Synced was closed")
	}
}

// Until the caches sync, cluster names get SERVFAIL after a bounded wait
// (the client retries); other names are forwarded at once.
func TestServfailBeforeSync(t *testing.T) {
	st := startStub(t)
	client := fake.NewClientset()
	release := make(chan struct{})
	client.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	s, err := New(Config{Client: client, Addr: "127.0.0.1:0", Upstreams: []string{st.addr}})
	if err != nil {
		t.Fatal(err)
	}
	s.syncWait = 100 * time.Millisecond
	stop := runInBackground(t, s)
	defer stop()
	defer close(release) // before stop: the informer is stuck in List
	addr := s.Addr().String()
	if r := ask(t, addr, "udp", "web.default.svc.cluster.local.", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster name before sync: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if r := ask(t, addr, "udp", "example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("forwarded name before sync: %v", r)
	}
}

func TestLifecycle(t *testing.T) {
	client := fake.NewClientset()
	s, err := New(Config{Client: client, Addr: "127.0.0.1:0", Upstreams: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if addr.Port() == 0 || !addr.Addr().IsLoopback() {
		t.Fatalf("Addr %v before Run", addr)
	}
	// The port is bound before Run: a query waits in the socket buffer
	// and is answered once Run starts.
	got := make(chan *dns.Msg, 1)
	go func() {
		m := new(dns.Msg)
		m.SetQuestion("cluster.local.", dns.TypeSOA)
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr.String())
		if err != nil {
			r = nil
		}
		got <- r
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if r := <-got; r == nil || len(r.Answer) != 1 {
		t.Errorf("query sent before Run: %v", r)
	}
	if err := s.Run(ctx); !errors.Is(err, ErrRun) {
		t.Errorf("second Run: %v, want ErrRun", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close while running: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	checkReleased(t, addr.String())
}

func TestCloseWithoutRun(t *testing.T) {
	s, err := New(Config{Client: fake.NewClientset(), Addr: "127.0.0.1:0", Upstreams: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkReleased(t, s.Addr().String())
	if err := s.Run(context.Background()); !errors.Is(err, ErrRun) {
		t.Errorf("Run after Close: %v, want ErrRun", err)
	}
}

// checkReleased binds addr again, UDP and TCP, to show the server let go
// of it.
func checkReleased(t *testing.T, addr string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP %s still bound: %v", addr, err)
	}
	_ = pc.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP %s still bound: %v", addr, err)
	}
	_ = ln.Close()
}

func TestListenFixedPortInUse(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, err = New(Config{Client: fake.NewClientset(), Addr: pc.LocalAddr().String(), Upstreams: []string{}})
	if !errors.Is(err, ErrListen) {
		t.Errorf("New on a taken port: %v, want ErrListen", err)
	}
}

// A custom domain and TTL: cluster.local is then an outside name and is
// forwarded.
func TestCustomDomain(t *testing.T) {
	st := startStub(t)
	ts := startServer(t, Config{Domain: "Corp.Example.", TTL: 30, Upstreams: []string{st.addr}},
		service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"}))
	r := ts.ask(t, "web.default.svc.corp.example.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 30 {
		t.Errorf("custom domain answer: %v", r)
	}
	r = ts.ask(t, "nope.default.svc.corp.example.", dns.TypeA)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Name != "corp.example." || r.Ns[0].(*dns.SOA).Minttl != 30 {
		t.Errorf("custom domain NXDOMAIN: %v", r)
	}
	ts.ask(t, "web.default.svc.cluster.local.", dns.TypeA)
	if q := st.queries(); len(q) != 1 || q[0] != "udp web.default.svc.cluster.local." {
		t.Errorf("upstream saw %v, want the cluster.local name", q)
	}
}
