package discovery

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func ptr[T any](v T) *T { return &v }

func newSlice(addressType discoveryv1.AddressType, addrs ...string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "default", Labels: map[string]string{"kubernetes.io/service-name": "web"}},
		AddressType: addressType,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: addrs}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
	}
}

func TestEndpointSliceDefault(t *testing.T) {
	eps := newSlice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	eps.Ports = append(eps.Ports, discoveryv1.EndpointPort{Protocol: ptr(corev1.ProtocolUDP)})
	endpointSliceStrategy.Default(eps)
	endpointSliceStrategy.Default(eps)
	if *eps.Ports[0].Protocol != corev1.ProtocolTCP || *eps.Ports[0].Name != "http" {
		t.Errorf("port 0 %+v", eps.Ports[0])
	}
	if eps.Ports[1].Name == nil || *eps.Ports[1].Name != "" || *eps.Ports[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("port 1 %+v", eps.Ports[1])
	}
}

func TestEndpointSliceValidate(t *testing.T) {
	v4, v6, fqdn := discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN
	many := make([]string, 101)
	for i := range many {
		many[i] = "10.0.0.1"
	}
	cases := []struct {
		name   string
		eps    *discoveryv1.EndpointSlice
		mutate func(*discoveryv1.EndpointSlice)
		want   []registrytest.Want
	}{
		{"ipv4", newSlice(v4, "10.0.0.1", "192.168.1.2"), nil, nil},
		{"ipv6", newSlice(v6, "2001:db8::1"), nil, nil},
		{"fqdn", newSlice(fqdn, "example.com"), nil, nil},
		{"extras", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) {
			e.Endpoints[0].Hostname, e.Endpoints[0].NodeName, e.Endpoints[0].Zone = ptr("pod-0"), ptr("node-1"), ptr("a")
			e.Endpoints[0].Hints = &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}}, ForNodes: []discoveryv1.ForNode{{Name: "node-1"}}}
			e.Ports = append(e.Ports, discoveryv1.EndpointPort{Name: ptr(""), AppProtocol: ptr("kubernetes.io/h2c")})
		}, nil},
		{"no address type", newSlice("", "10.0.0.1"), nil, []registrytest.Want{registrytest.Required("addressType", "")}},
		{"bad address type", newSlice("IP", "10.0.0.1"), nil, []registrytest.Want{registrytest.NotSupported("addressType", "")}},
		{"ipv6 in ipv4 slice", newSlice(v4, "10.0.0.1", "::2"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[1]", "must be a valid IPv4 address")}},
		{"ipv4 in ipv6 slice", newSlice(v6, "10.0.0.1"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[0]", "must be a valid IPv6 address")}},
		{"loopback", newSlice(v4, "127.0.0.1"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[0]", "loopback")}},
		{"link local", newSlice(v6, "fe80::1"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[0]", "link-local range")}},
		{"unspecified", newSlice(v4, "0.0.0.0"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[0]", "may not be unspecified (0.0.0.0)")}},
		{"bad fqdn", newSlice(fqdn, "not_a_name"), nil, []registrytest.Want{registrytest.Invalid("endpoints[0].addresses[0]", "")}},
		{"no addresses", newSlice(v4), nil, []registrytest.Want{registrytest.Required("endpoints[0].addresses", "must contain at least 1 address")}},
		{"too many addresses", newSlice(v4, many...), nil, []registrytest.Want{registrytest.TooMany("endpoints[0].addresses", "")}},
		{"bad hostname", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Hostname = ptr("Pod.0") },
			[]registrytest.Want{registrytest.Invalid("endpoints[0].hostname", "")}},
		{"duplicate zone hint", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) {
			e.Endpoints[0].Hints = &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}, {Name: "a"}}}
		}, []registrytest.Want{registrytest.Duplicate("endpoints[0].hints.forZones[1].name", "")}},
		{"duplicate port names", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) {
			e.Ports = append(e.Ports, discoveryv1.EndpointPort{Name: ptr("http"), Protocol: ptr(corev1.ProtocolUDP)})
		}, []registrytest.Want{registrytest.Duplicate("ports[1].name", "")}},
		{"bad port name", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) { e.Ports[0].Name = ptr("HTTP") },
			[]registrytest.Want{registrytest.Invalid("ports[0].name", "")}},
		{"bad protocol", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) { e.Ports[0].Protocol = ptr(corev1.Protocol("ICMP")) },
			[]registrytest.Want{registrytest.NotSupported("ports[0].protocol", "")}},
		{"port out of range", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) { e.Ports[0].Port = ptr(int32(70000)) },
			[]registrytest.Want{registrytest.Invalid("ports[0].port", "must be between 1 and 65535, inclusive")}},
		{"bad app protocol", newSlice(v4, "10.0.0.1"), func(e *discoveryv1.EndpointSlice) { e.Ports[0].AppProtocol = ptr("a/b/c") },
			[]registrytest.Want{registrytest.Invalid("ports[0].appProtocol", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutate != nil {
				tc.mutate(tc.eps)
			}
			endpointSliceStrategy.Default(tc.eps)
			registrytest.ExpectExactly(t, endpointSliceStrategy.Validate(tc.eps), tc.want...)
		})
	}
}

func TestEndpointSliceUpdate(t *testing.T) {
	old := newSlice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	old.Generation = 3
	old.Endpoints[0].DeprecatedTopology = map[string]string{"a": "b"}
	changed := old.DeepCopy()
	changed.AddressType = discoveryv1.AddressTypeIPv6
	registrytest.ExpectExactly(t, endpointSliceStrategy.ValidateUpdate(changed, old), registrytest.Invalid("addressType", "field is immutable"))
	registrytest.ExpectValid(t, endpointSliceStrategy.ValidateUpdate(old.DeepCopy(), old))

	same := old.DeepCopy()
	same.Annotations = map[string]string{"x": "y"}
	endpointSliceStrategy.PrepareForUpdate(same, old)
	if same.Generation != 3 || same.Endpoints[0].DeprecatedTopology == nil {
		t.Errorf("unchanged slice: generation %d, topology %v", same.Generation, same.Endpoints[0].DeprecatedTopology)
	}
	moved := old.DeepCopy()
	moved.Endpoints[0].Addresses = []string{"10.0.0.2"}
	endpointSliceStrategy.PrepareForUpdate(moved, old)
	if moved.Generation != 4 || moved.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("changed slice: generation %d, topology %v", moved.Generation, moved.Endpoints[0].DeprecatedTopology)
	}

	created := newSlice(discoveryv1.AddressTypeIPv4, "10.0.0.1")
	created.Endpoints[0].DeprecatedTopology = map[string]string{"a": "b"}
	endpointSliceStrategy.PrepareForCreate(created)
	if created.Generation != 1 || created.Endpoints[0].DeprecatedTopology != nil {
		t.Errorf("created slice: %+v", created)
	}
}

func TestEndpointSliceTable(t *testing.T) {
	eps := newSlice(discoveryv1.AddressTypeIPv4, "10.0.0.1", "10.0.0.2")
	eps.Endpoints = append(eps.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.3", "10.0.0.4", "10.0.0.5"}})
	eps.Ports = append(eps.Ports, discoveryv1.EndpointPort{Name: ptr("metrics")}, discoveryv1.EndpointPort{})
	row := endpointSliceTable.Row(eps)
	want := []interface{}{"web-abc", "IPv4", "8080,metrics,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "<unknown>"}
	if len(row) != len(endpointSliceTable.Columns) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
	empty := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4}
	if row := endpointSliceTable.Row(empty); row[2] != "<unset>" || row[3] != "<unset>" {
		t.Fatalf("empty row %v", row)
	}
}
