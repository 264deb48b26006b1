package main

import (
	"fmt"
	"net"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/network/proxy"
)

const (
	namespace  = "bench"
	targetPort = 8080
)

var clusterCIDR = &net.IPNet{IP: net.IPv4(10, 42, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}

// service i (from 0): cluster IP 10.43.x.y, port 80 named http.
func service(i int) *v1.Service {
	ip := fmt.Sprintf("10.43.%d.%d", (i+1)>>8, (i+1)&255)
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("svc-%05d", i)},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}},
		},
	}
}

// endpointIP is endpoint j of service i, or its replacement in
// generation gen (the change sections swap endpoint 0 back and forth).
func endpointIP(i, j, endpoints, gen int) string {
	n := 256 + i*endpoints + j
	if gen%2 == 1 {
		n += 1 << 15
	}
	return fmt.Sprintf("10.42.%d.%d", n>>8, n&255)
}

// slice is service i's EndpointSlice, all endpoints ready; gen varies
// endpoint 0.
func slice(i, endpoints, gen int) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("svc-%05d-abcde", i),
			Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%05d", i)}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](targetPort), Protocol: ptr.To(v1.ProtocolTCP)}},
	}
	for j := range endpoints {
		g := 0
		if j == 0 {
			g = gen
		}
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{endpointIP(i, j, endpoints, g)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			NodeName:   ptr.To("node1"),
		})
	}
	return sl
}

// stageAll stages every Service; the objects are garbage afterwards.
func stageAll(s *proxy.Syncer, services, endpoints int) {
	for i := range services {
		s.SetService(service(i), []*discoveryv1.EndpointSlice{slice(i, endpoints, 0)})
	}
}
