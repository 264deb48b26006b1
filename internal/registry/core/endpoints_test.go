package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestEndpointsValidate(t *testing.T) {
	addr := func(ips ...string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	cases := []struct {
		name   string
		subset corev1.EndpointSubset
		want   []registrytest.Want
	}{
		{name: "valid", subset: corev1.EndpointSubset{Addresses: addr("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80}}}},
		{name: "headless without ports", subset: corev1.EndpointSubset{NotReadyAddresses: addr("10.0.0.1")}},
		{name: "no addresses", subset: corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80}}},
			want: []registrytest.Want{registrytest.Required("subsets[0]", "must specify `addresses` or `notReadyAddresses`")}},
		{name: "bad IP", subset: corev1.EndpointSubset{Addresses: addr("10.0.0.256")}, want: []registrytest.Want{
			registrytest.Invalid("subsets[0].addresses[0].ip", "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
			registrytest.Invalid("subsets[0].addresses[0].ip", "must be a valid IP address")}},
		{name: "loopback", subset: corev1.EndpointSubset{Addresses: addr("127.0.0.1")},
			want: []registrytest.Want{registrytest.Invalid("subsets[0].addresses[0].ip", "may not be in the loopback range")}},
		{name: "link-local", subset: corev1.EndpointSubset{NotReadyAddresses: addr("169.254.169.254")},
			want: []registrytest.Want{registrytest.Invalid("subsets[0].notReadyAddresses[0].ip", "link-local")}},
		{name: "unnamed ports", subset: corev1.EndpointSubset{Addresses: addr("10.0.0.1"), Ports: []corev1.EndpointPort{{Port: 80}, {Name: "https", Port: 0}}},
			want: []registrytest.Want{registrytest.Required("subsets[0].ports[0].name", ""), registrytest.Invalid("subsets[0].ports[1].port", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{c.subset}}
			registrytest.ExpectExactly(t, strategyCreate(endpointsStrategy, ep), c.want...)
		})
	}
}

func TestEndpointsDefaultAndTable(t *testing.T) {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "fd00::3"}},
		Ports:     []corev1.EndpointPort{{Name: "http", Port: 80}, {Name: "https", Port: 443}},
	}}}
	endpointsStrategy.Default(ep)
	if ep.Subsets[0].Ports[1].Protocol != corev1.ProtocolTCP {
		t.Errorf("protocol not defaulted")
	}
	if got := endpointsTable.Row(ep)[1]; got != "10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more..." {
		t.Errorf("endpoints cell = %q", got)
	}
	if got := endpointsTable.Row(&corev1.Endpoints{})[1]; got != "<none>" {
		t.Errorf("empty endpoints cell = %q", got)
	}
}
