package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer is a Server on 127.0.0.1:0 over a fake clientset.
type testServer struct {
	*Server
	client *fake.Clientset
}

// startServer runs a Server over objs until the test ends and returns
// once its caches have synced and both watches are open (the fake
// clientset drops events sent before a watch starts). Forwarding goes
// nowhere unless cfg names upstreams: tests never reach the host's
// resolver.
func startServer(t *testing.T, cfg Config, objs ...runtime.Object) *testServer {
	t.Helper()
	client := fake.NewClientset(objs...)
	watching := make(chan string, 2)
	client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		watching <- a.GetResource().Resource
		return false, nil, nil
	})
	ts := runServer(t, client, cfg)
	for range 2 {
		select {
		case <-watching:
		case <-time.After(10 * time.Second):
			t.Fatal("informers did not start watching")
		}
	}
	return ts
}

// runServer runs a Server over client and waits for its caches.
func runServer(t *testing.T, client *fake.Clientset, cfg Config) *testServer {
	t.Helper()
	cfg.Client = client
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Upstreams == nil {
		cfg.Upstreams = []string{}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runInBackground(t, s)
	t.Cleanup(stop)
	select {
	case <-s.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("caches did not sync")
	}
	return &testServer{Server: s, client: client}
}

// runInBackground starts s.Run; the returned func cancels it and checks
// that it returned nil in time.
func runInBackground(t *testing.T, s *Server) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
}

// ask sends one query over net ("udp" or "tcp") and fails the test on a
// transport error.
func ask(t *testing.T, addr, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	if r.Id != m.Id {
		t.Fatalf("reply id %d, query id %d", r.Id, m.Id)
	}
	return r
}

func (ts *testServer) ask(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	return ask(t, ts.Addr().String(), "udp", name, qtype, 0)
}

// eventually polls check every 20ms for up to 5s; the message says what
// was still wrong at the end.
func eventually(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, got := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s after 5s", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rrs renders records as "TYPE rdata", sorted, without owner and TTL.
func rrs(list []dns.RR) []string {
	out := make([]string, 0, len(list))
	for _, rr := range list {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, dns.TypeToString[rr.Header().Rrtype]+" "+strings.TrimPrefix(rr.String(), rr.Header().String()))
	}
	slices.Sort(out)
	return out
}

// --- fixtures ---

func service(ns, name string, typ corev1.ServiceType, ips []string, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
		Spec: corev1.ServiceSpec{Type: typ, ClusterIPs: ips, Ports: ports},
	}
	if len(ips) > 0 {
		s.Spec.ClusterIP = ips[0]
	}
	return s
}

func port(name string, proto corev1.Protocol, n int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: n}
}

type ep struct {
	ip       string
	hostname string
	ready    *bool
}

func slice(ns, name, svc string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...ep) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: family,
		Ports:       ports,
	}
	for _, e := range eps {
		e2 := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.hostname != "" {
			e2.Hostname = &e.hostname
		}
		sl.Endpoints = append(sl.Endpoints, e2)
	}
	return sl
}

func slicePort(name string, proto corev1.Protocol, n int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &n}
}

func ptr[T any](v T) *T { return &v }

// endpointIPs returns n addresses 10.42.<block>.1, .2, ...
func endpointIPs(block, n int) []ep {
	out := make([]ep, n)
	for i := range out {
		out[i] = ep{ip: fmt.Sprintf("10.42.%d.%d", block, i+1)}
	}
	return out
}
