package dns

import (
	"fmt"
	"net"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// benchServer is a Server with an index of 1,000 services (every fifth
// headless, 10 endpoints each), without sockets or informers.
func benchServer(b *testing.B) *Server {
	b.Helper()
	s := &Server{ix: newIndex(), zone: "cluster.local.", suffix: ".cluster.local.", ttl: 5,
		fwd: newForwarder(nil, 0)}
	s.isSynced.Store(true)
	w := newWatcher(s.ix, s.zone)
	ports := []discoveryv1.EndpointPort{slicePort("http", tcp, 8080)}
	for i := range 1000 {
		ip := fmt.Sprintf("10.43.%d.%d", i/250, i%250+1)
		if i%5 == 4 {
			ip = "None"
		}
		ns, name := fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("svc-%d", i)
		w.serviceChanged(service(ns, name, corev1.ServiceTypeClusterIP, []string{ip}, port("http", tcp, 80)), false)
		eps := endpointIPs(i, 10)
		for j := range eps {
			eps[j].hostname = fmt.Sprintf("%s-%d", name, j)
		}
		w.sliceChanged(slice(ns, name+"-1", name, v4, ports, eps...), false)
	}
	return s
}

// discard is a ResponseWriter that packs the reply, as the server would,
// and drops it.
type discard struct{ dns.ResponseWriter }

func (discard) RemoteAddr() net.Addr { return &net.UDPAddr{} }
func (discard) WriteMsg(m *dns.Msg) error {
	_, err := m.Pack()
	return err
}

func BenchmarkServeDNS(b *testing.B) {
	s := benchServer(b)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"svc-0.ns-0.svc.cluster.local.", dns.TypeA},
		{"svc-4.ns-4.svc.cluster.local.", dns.TypeA},
		{"_http._tcp.svc-0.ns-0.svc.cluster.local.", dns.TypeSRV},
		{"10-42-0-1.ns-0.pod.cluster.local.", dns.TypeA},
		{"missing.ns-0.svc.cluster.local.", dns.TypeA},
	} {
		b.Run(q.name, func(b *testing.B) {
			r := new(dns.Msg)
			r.SetQuestion(q.name, q.qtype)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.ServeDNS(discard{}, r)
				}
			})
		})
	}
}
