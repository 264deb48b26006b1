package proxy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func eps(addrs ...string) []endpoint {
	var out []endpoint
	for _, a := range addrs {
		ap := netip.MustParseAddrPort(a)
		out = append(out, endpoint{ip: ap.Addr().As4(), port: ap.Port()})
	}
	return out
}

func ip4(s string) [4]byte { return netip.MustParseAddr(s).As4() }

// cmpPorts compares svcPorts field by field.
var cmpPorts = cmp.AllowUnexported(svcPort{}, endpoint{})

func TestEndpointChoice(t *testing.T) {
	httpPorts := slicePorts(epPort("http", 8080, v1.ProtocolTCP))
	tests := []struct {
		name    string
		slices  []*discoveryv1.EndpointSlice
		cluster []endpoint
	}{
		{"nil ready counts as ready", slicesOf(sliceOf("d", "s", "a", httpPorts,
			discoveryv1.Endpoint{Addresses: []string{"10.42.0.2"}}, ready("10.42.0.1"))),
			eps("10.42.0.1:8080", "10.42.0.2:8080")},
		{"not ready left out", slicesOf(sliceOf("d", "s", "a", httpPorts,
			ready("10.42.0.1"), ready("10.42.0.2", notReady), ready("10.42.0.3", terminating(true)))),
			eps("10.42.0.1:8080")},
		{"serving terminating when none is ready", slicesOf(sliceOf("d", "s", "a", httpPorts,
			ready("10.42.0.1", notReady), ready("10.42.0.2", terminating(true)), ready("10.42.0.3", terminating(false)))),
			eps("10.42.0.2:8080")},
		{"none usable", slicesOf(sliceOf("d", "s", "a", httpPorts,
			ready("10.42.0.1", notReady), ready("10.42.0.3", terminating(false)))),
			nil},
		{"port matched by name", slicesOf(sliceOf("d", "s", "a",
			slicePorts(epPort("metrics", 9090, v1.ProtocolTCP), epPort("http", 8081, v1.ProtocolTCP)), ready("10.42.0.1"))),
			eps("10.42.0.1:8081")},
		{"port matched by protocol", slicesOf(sliceOf("d", "s", "a",
			slicePorts(epPort("http", 53, v1.ProtocolUDP)), ready("10.42.0.1"))),
			nil},
		{"slices merged, sorted, once each", slicesOf(
			sliceOf("d", "s", "a", httpPorts, ready("10.42.0.9"), ready("10.42.0.1", notReady)),
			sliceOf("d", "s", "b", httpPorts, ready("10.42.0.1"), ready("10.42.0.5"))),
			eps("10.42.0.1:8080", "10.42.0.5:8080", "10.42.0.9:8080")},
		{"IPv6 and FQDN slices ignored", slicesOf(
			func() *discoveryv1.EndpointSlice {
				s := sliceOf("d", "s", "a", httpPorts, ready("fd00::1"))
				s.AddressType = discoveryv1.AddressTypeIPv6
				return s
			}(),
			func() *discoveryv1.EndpointSlice {
				s := sliceOf("d", "s", "b", httpPorts, ready("db.example.com"))
				s.AddressType = discoveryv1.AddressTypeFQDN
				return s
			}(),
			sliceOf("d", "s", "c", httpPorts, ready("10.42.0.1"), ready("not-an-ip"))),
			eps("10.42.0.1:8080")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports := servicePorts(svcOf("d", "s", "10.43.0.1", tcp("http", 80)), tt.slices, "n1")
			if len(ports) != 1 {
				t.Fatalf("got %d ports, want 1", len(ports))
			}
			if diff := cmp.Diff(tt.cluster, ports[0].clusterEPs, cmpPorts); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServicePorts(t *testing.T) {
	sl := slicesOf(sliceOf("d", "s", "a",
		slicePorts(epPort("http", 8080, v1.ProtocolTCP), epPort("dns", 5353, v1.ProtocolUDP)),
		ready("10.42.0.1", onNode("n1")), ready("10.42.0.2", onNode("n2"))))
	both := eps("10.42.0.1:8080", "10.42.0.2:8080")
	tests := []struct {
		name string
		svc  func() *v1.Service
		want []*svcPort
	}{
		{"cluster IP", func() *v1.Service { return svcOf("d", "s", "10.43.0.1", tcp("http", 80)) },
			[]*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both}}},
		{"unnamed port", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("", 80))
			return s
		}, []*svcPort{{key: "d/s", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80}}},
		{"two ports, two protocols", func() *v1.Service {
			return svcOf("d", "s", "10.43.0.1", tcp("http", 80), udp("dns", 53))
		}, []*svcPort{
			{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both},
			{key: "d/s/dns", proto: 17, clusterIP: ip4("10.43.0.1"), port: 53, clusterEPs: eps("10.42.0.1:5353", "10.42.0.2:5353")},
		}},
		{"headless", func() *v1.Service { return svcOf("d", "s", "None", tcp("http", 80)) }, nil},
		{"no cluster IP yet", func() *v1.Service { return svcOf("d", "s", "", tcp("http", 80)) }, nil},
		{"IPv6 only", func() *v1.Service { return svcOf("d", "s", "fd00::10", tcp("http", 80)) }, nil},
		{"dual stack takes the IPv4 address", func() *v1.Service {
			s := svcOf("d", "s", "fd00::10", tcp("http", 80))
			s.Spec.ClusterIPs = []string{"fd00::10", "10.43.0.9"}
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.9"), port: 80, clusterEPs: both}}},
		{"ExternalName", func() *v1.Service {
			s := svcOf("d", "s", "", tcp("http", 80))
			s.Spec.Type = v1.ServiceTypeExternalName
			return s
		}, nil},
		{"node port of a NodePort service", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.Type = v1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, nodePort: 30080, clusterEPs: both}}},
		{"node port of a ClusterIP service ignored", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.Ports[0].NodePort = 30080
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both}}},
		{"external and load balancer IPs", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.Type = v1.ServiceTypeLoadBalancer
			s.Spec.ExternalIPs = []string{"192.0.2.9", "192.0.2.1", "2001:db8::1"}
			s.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "192.0.2.9"}, {IP: "198.51.100.1"},
				{IP: "198.51.100.2", IPMode: ptr.To(v1.LoadBalancerIPModeProxy)}, {Hostname: "lb.example.com"}}
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both,
			externals: [][4]byte{ip4("192.0.2.1"), ip4("192.0.2.9"), ip4("198.51.100.1")}}}},
		{"client IP affinity, default timeout", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both, affinity: 3 * time.Hour}}},
		{"client IP affinity, own timeout", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.SessionAffinity = v1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](30)}}
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, clusterEPs: both, affinity: 30 * time.Second}}},
		{"internal traffic policy Local", func() *v1.Service {
			s := svcOf("d", "s", "10.43.0.1", tcp("http", 80))
			s.Spec.InternalTrafficPolicy = ptr.To(v1.ServiceInternalTrafficPolicyLocal)
			return s
		}, []*svcPort{{key: "d/s/http", proto: 6, clusterIP: ip4("10.43.0.1"), port: 80, local: true,
			clusterEPs: both, localEPs: eps("10.42.0.1:8080")}}},
		{"SCTP, and an unknown protocol skipped", func() *v1.Service {
			return svcOf("d", "s", "10.43.0.1", v1.ServicePort{Name: "http", Port: 80, Protocol: v1.ProtocolSCTP},
				v1.ServicePort{Name: "x", Port: 81, Protocol: "QUIC"})
		}, []*svcPort{{key: "d/s/http", proto: 132, clusterIP: ip4("10.43.0.1"), port: 80}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := servicePorts(tt.svc(), sl, "n1")
			if diff := cmp.Diff(tt.want, got, cmpPorts); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEqualPorts(t *testing.T) {
	a := servicePorts(svcOf("d", "s", "10.43.0.1", tcp("http", 80)), nil, "")
	b := servicePorts(svcOf("d", "s", "10.43.0.1", tcp("http", 80)), nil, "")
	if !equalPorts(a, b) {
		t.Errorf("equal ports not equal")
	}
	b[0].clusterEPs = eps("10.42.0.1:80")
	if equalPorts(a, b) {
		t.Errorf("different endpoints compare equal")
	}
	if equalPorts(a, nil) || !equalPorts(nil, nil) {
		t.Errorf("nil handling")
	}
}
