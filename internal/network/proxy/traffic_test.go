package proxy

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// TestTraffic sends real connections through the rules: pods a, b, c
// serve, pod client connects.
func TestTraffic(t *testing.T) {
	requireRoot(t)
	tp := newTopology(t, "a", "b", "c", "client")
	a, b, c, client := tp.pods["a"], tp.pods["b"], tp.pods["c"], tp.pods["client"]
	_, cidr, _ := net.ParseCIDR("10.42.0.0/16")
	s, err := NewSyncer(Config{NetNS: tp.node.fd, ClusterCIDR: cidr, NodeName: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	httpPorts := slicePorts(epPort("http", podPort, v1.ProtocolTCP))
	sync := func() {
		t.Helper()
		if _, err := s.Sync(); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}

	web := svcOf("default", "web", "10.43.0.50", tcp("http", 80))
	web.Spec.Type = v1.ServiceTypeNodePort
	web.Spec.Ports[0].NodePort = 30080
	web.Spec.ExternalIPs = []string{externalIP}
	s.SetService(web, slicesOf(sliceOf("default", "web", "web-1", httpPorts,
		ready(a.ip), ready(b.ip), ready(c.ip, notReady))))
	empty := svcOf("default", "empty", "10.43.0.51", tcp("http", 80))
	empty.Spec.Type = v1.ServiceTypeNodePort
	empty.Spec.Ports[0].NodePort = 30051
	s.SetService(empty, nil)
	sticky := svcOf("default", "sticky", "10.43.0.52", tcp("http", 80))
	sticky.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	s.SetService(sticky, slicesOf(sliceOf("default", "sticky", "sticky-1", httpPorts, ready(a.ip), ready(b.ip), ready(c.ip))))
	s.SetService(svcOf("default", "self", "10.43.0.53", tcp("http", 80)),
		slicesOf(sliceOf("default", "self", "self-1", httpPorts, ready(a.ip))))
	s.SetService(svcOf("default", "dns", "10.43.0.54", udp("dns", 53)),
		slicesOf(sliceOf("default", "dns", "dns-1", slicePorts(epPort("dns", podPort, v1.ProtocolUDP)), ready(a.ip), ready(b.ip))))
	sync()

	t.Run("ready endpoints share, not-ready gets none", func(t *testing.T) {
		got := hits(t, client.ns, "tcp4", "10.43.0.50:80", 60)
		if got["a"] == 0 || got["b"] == 0 || got["c"] != 0 || got["a"]+got["b"] != 60 {
			t.Errorf("hits = %v, want a and b only, both", got)
		}
	})
	t.Run("pod source is kept", func(t *testing.T) {
		r, err := dial(client.ns, "tcp4", "10.43.0.50:80")
		if err != nil || r.client != client.ip {
			t.Errorf("dial = %+v, %v; want the server to see %s", r, err, client.ip)
		}
	})
	t.Run("no endpoints is refused at once", func(t *testing.T) {
		for _, from := range []struct {
			ns   *testNS
			addr string
		}{{client.ns, "10.43.0.51:80"}, {tp.node, "10.43.0.51:80"}, {tp.ext, nodeExtIP + ":30051"}} {
			start := time.Now()
			_, err := dial(from.ns, "tcp4", from.addr)
			if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) > time.Second {
				t.Errorf("dial %s from %s = %v after %s, want connection refused within 1s", from.addr, from.ns.name, err, time.Since(start))
			}
		}
	})
	t.Run("client IP affinity pins", func(t *testing.T) {
		got := hits(t, client.ns, "tcp4", "10.43.0.52:80", 20)
		if len(got) != 1 {
			t.Errorf("hits = %v, want one server", got)
		}
	})
	t.Run("hairpin is masqueraded", func(t *testing.T) {
		r, err := dial(a.ns, "tcp4", "10.43.0.53:80")
		if err != nil || r.server != "a" || r.client != bridgeIP {
			t.Errorf("dial = %+v, %v; want a seeing %s", r, err, bridgeIP)
		}
	})
	t.Run("udp", func(t *testing.T) {
		got := hits(t, client.ns, "udp4", "10.43.0.54:53", 30)
		if got["a"] == 0 || got["b"] == 0 {
			t.Errorf("hits = %v, want a and b", got)
		}
	})
	t.Run("node port from outside is masqueraded", func(t *testing.T) {
		for range 10 {
			r, err := dial(tp.ext, "tcp4", nodeExtIP+":30080")
			if err != nil || r.client != bridgeIP || (r.server != "a" && r.server != "b") {
				t.Fatalf("dial = %+v, %v; want a or b seeing %s", r, err, bridgeIP)
			}
		}
	})
	t.Run("external IP from outside is masqueraded", func(t *testing.T) {
		r, err := dial(tp.ext, "tcp4", externalIP+":80")
		if err != nil || r.client != bridgeIP || (r.server != "a" && r.server != "b") {
			t.Errorf("dial = %+v, %v; want a or b seeing %s", r, err, bridgeIP)
		}
	})
	t.Run("node port on the bridge address from a pod is masqueraded", func(t *testing.T) {
		for range 10 {
			r, err := dial(client.ns, "tcp4", bridgeIP+":30080")
			if err != nil || r.client != bridgeIP || (r.server != "a" && r.server != "b") {
				t.Fatalf("dial = %+v, %v; want a or b seeing %s", r, err, bridgeIP)
			}
		}
	})
	t.Run("cluster IP from outside the cluster CIDR is masqueraded", func(t *testing.T) {
		r, err := dial(tp.ext, "tcp4", "10.43.0.50:80")
		if err != nil || r.client != bridgeIP {
			t.Errorf("dial = %+v, %v; want the server to see %s", r, err, bridgeIP)
		}
	})
	t.Run("host to cluster IP is masqueraded", func(t *testing.T) {
		r, err := dial(tp.node, "tcp4", "10.43.0.50:80")
		if err != nil || r.client != bridgeIP {
			t.Errorf("dial = %+v, %v; want the server to see %s", r, err, bridgeIP)
		}
	})
	t.Run("pod egress is masqueraded", func(t *testing.T) {
		serve(t, tp.ext, "ext")
		r, err := dial(client.ns, "tcp4", fmt.Sprintf("%s:%d", extIP, podPort))
		if err != nil || r.client != nodeExtIP {
			t.Errorf("dial = %+v, %v; want the external server to see %s", r, err, nodeExtIP)
		}
	})
	t.Run("endpoint changes apply", func(t *testing.T) {
		s.SetService(web, slicesOf(sliceOf("default", "web", "web-1", httpPorts,
			ready(a.ip), ready(b.ip, terminating(true)), ready(c.ip))))
		sync()
		got := hits(t, client.ns, "tcp4", "10.43.0.50:80", 60)
		if got["a"] == 0 || got["c"] == 0 || got["b"] != 0 {
			t.Errorf("hits = %v, want a and c only, both", got)
		}
	})
	t.Run("terminating endpoints serve when none is ready", func(t *testing.T) {
		s.SetService(web, slicesOf(sliceOf("default", "web", "web-1", httpPorts,
			ready(a.ip, terminating(false)), ready(b.ip, terminating(true)), ready(c.ip, notReady))))
		sync()
		got := hits(t, client.ns, "tcp4", "10.43.0.50:80", 10)
		if got["b"] != 10 {
			t.Errorf("hits = %v, want b only", got)
		}
	})
	t.Run("service deleted", func(t *testing.T) {
		s.DeleteService("default", "web")
		sync()
		if _, err := dialTimeout(client.ns, "tcp4", "10.43.0.50:80", 300*time.Millisecond); err == nil {
			t.Errorf("dial to a deleted service succeeded")
		}
	})
}

// TestStaleUDPFlows checks that a UDP client keeping its source port
// follows endpoint changes, although conntrack keeps UDP flows.
func TestStaleUDPFlows(t *testing.T) {
	requireRoot(t)
	tp := newTopology(t, "a", "b", "client")
	s, err := NewSyncer(Config{NetNS: tp.node.fd, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ports := slicePorts(epPort("dns", podPort, v1.ProtocolUDP))
	sync := func(svc *v1.Service, eps ...discoveryv1.Endpoint) {
		t.Helper()
		s.SetService(svc, slicesOf(sliceOf("default", svc.Name, svc.Name+"-1", ports, eps...)))
		if _, err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	from := &net.UDPAddr{Port: 40000}
	ask := func(addr string) (reply, error) {
		return dialFrom(tp.pods["client"].ns, "udp4", from, addr, 500*time.Millisecond)
	}
	a, b := tp.pods["a"].ip, tp.pods["b"].ip

	t.Run("removed endpoint", func(t *testing.T) {
		svc := svcOf("default", "dns", "10.43.0.55", udp("dns", 53))
		sync(svc, ready(a))
		if r, err := ask("10.43.0.55:53"); err != nil || r.server != "a" {
			t.Fatalf("ask = %+v, %v; want a", r, err)
		}
		sync(svc, ready(b))
		if r, err := ask("10.43.0.55:53"); err != nil || r.server != "b" {
			t.Errorf("after a was replaced by b: ask = %+v, %v; want b", r, err)
		}
	})
	t.Run("first endpoint", func(t *testing.T) {
		if _, err := ask("10.43.0.56:53"); err == nil {
			t.Fatalf("an answer from a cluster IP no service has")
		}
		sync(svcOf("default", "late", "10.43.0.56", udp("dns", 53)), ready(a))
		if r, err := ask("10.43.0.56:53"); err != nil || r.server != "a" {
			t.Errorf("after the service appeared: ask = %+v, %v; want a", r, err)
		}
	})
}

func TestInternalTrafficPolicyLocal(t *testing.T) {
	requireRoot(t)
	tp := newTopology(t, "a", "b", "client")
	s, err := NewSyncer(Config{NetNS: tp.node.fd, NodeName: "here"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	svc := svcOf("default", "local", "10.43.0.60", tcp("http", 80))
	svc.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
	svc.Spec.Type = v1.ServiceTypeNodePort
	svc.Spec.Ports[0].NodePort = 30060
	ports := slicePorts(epPort("http", podPort, v1.ProtocolTCP))
	s.SetService(svc, slicesOf(sliceOf("default", "local", "local-1", ports,
		ready(tp.pods["a"].ip, onNode("here")), ready(tp.pods["b"].ip, onNode("elsewhere")))))
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := hits(t, tp.pods["client"].ns, "tcp4", "10.43.0.60:80", 20); got["a"] != 20 {
		t.Errorf("cluster IP hits = %v, want the local endpoint a only", got)
	}
	if got := hits(t, tp.ext, "tcp4", nodeExtIP+":30060", 40); got["a"] == 0 || got["b"] == 0 {
		t.Errorf("node port hits = %v, want a and b (external traffic policy Cluster)", got)
	}
}

func slicesOf(s ...*discoveryv1.EndpointSlice) []*discoveryv1.EndpointSlice { return s }
