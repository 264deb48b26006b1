package networking

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func ptr[T any](v T) *T { return &v }

func TestNetworkPolicyDefault(t *testing.T) {
	cases := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []networkingv1.PolicyType
	}{
		{"empty", networkingv1.NetworkPolicySpec{}, []networkingv1.PolicyType{"Ingress"}},
		{"ingress rules", networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}, []networkingv1.PolicyType{"Ingress"}},
		{"egress rules", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}, []networkingv1.PolicyType{"Ingress", "Egress"}},
		{"explicit", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"}, Ingress: []networkingv1.NetworkPolicyIngressRule{{}}},
			[]networkingv1.PolicyType{"Egress"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			np := &networkingv1.NetworkPolicy{Spec: tc.spec}
			networkPolicyStrategy.Default(np)
			networkPolicyStrategy.Default(np)
			if len(np.Spec.PolicyTypes) != len(tc.want) {
				t.Fatalf("policyTypes %v, want %v", np.Spec.PolicyTypes, tc.want)
			}
			for i := range tc.want {
				if np.Spec.PolicyTypes[i] != tc.want[i] {
					t.Fatalf("policyTypes %v, want %v", np.Spec.PolicyTypes, tc.want)
				}
			}
		})
	}
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}, {Protocol: ptr(corev1.ProtocolUDP)}}}},
		Egress:  []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}},
	}}
	networkPolicyStrategy.Default(np)
	if *np.Spec.Ingress[0].Ports[0].Protocol != "TCP" || *np.Spec.Ingress[0].Ports[1].Protocol != "UDP" || *np.Spec.Egress[0].Ports[0].Protocol != "TCP" {
		t.Fatalf("port protocols %+v", np.Spec)
	}
}

func TestNetworkPolicyValidate(t *testing.T) {
	port := func(p intstr.IntOrString, end *int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Port: &p, EndPort: end}
	}
	ingressPorts := func(ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: ports}}}
	}
	from := func(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}}}
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	cases := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []registrytest.Want
	}{
		{"deny all", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"}}, nil},
		{"ports", ingressPorts(port(intstr.FromInt32(80), nil), port(intstr.FromInt32(3000), ptr(int32(3100))), port(intstr.FromString("http"), nil)), nil},
		{"peers", from(networkingv1.NetworkPolicyPeer{PodSelector: sel, NamespaceSelector: &metav1.LabelSelector{}},
			networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}), nil},
		{"bad pod selector", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}},
			[]registrytest.Want{registrytest.Invalid("spec.podSelector.matchLabels", "")}},
		{"bad protocol", ingressPorts(networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.Protocol("ICMP"))}),
			[]registrytest.Want{registrytest.NotSupported("spec.ingress[0].ports[0].protocol", "")}},
		{"port out of range", ingressPorts(port(intstr.FromInt32(0), nil)),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].ports[0].port", "must be between 1 and 65535, inclusive")}},
		{"end before port", ingressPorts(port(intstr.FromInt32(100), ptr(int32(90)))),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].ports[0].endPort", "must be greater than or equal to `port`")}},
		{"end with named port", ingressPorts(port(intstr.FromString("http"), ptr(int32(90)))),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].ports[0].endPort", "may not be specified when `port` is non-numeric")}},
		{"end without port", ingressPorts(networkingv1.NetworkPolicyPort{EndPort: ptr(int32(90))}),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].ports[0].endPort", "may not be specified when `port` is not specified")}},
		{"bad port name", ingressPorts(port(intstr.FromString("Not_A_Name"), nil)), []registrytest.Want{registrytest.Invalid("spec.ingress[0].ports[0].port", "")}},
		{"empty peer", from(networkingv1.NetworkPolicyPeer{}), []registrytest.Want{registrytest.Required("spec.ingress[0].from[0]", "must specify a peer")}},
		{"ip block and selector", from(networkingv1.NetworkPolicyPeer{PodSelector: sel, IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}),
			[]registrytest.Want{registrytest.Forbidden("spec.ingress[0].from[0]", "may not specify both ipBlock and another peer")}},
		{"no cidr", from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{}}), []registrytest.Want{registrytest.Required("spec.ingress[0].from[0].ipBlock.cidr", "")}},
		{"bad cidr", from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/33"}}),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].from[0].ipBlock.cidr", "must be a valid CIDR value")}},
		{"except outside", from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.0.0/16", "192.168.0.0/24"}}}),
			[]registrytest.Want{registrytest.Invalid("spec.ingress[0].from[0].ipBlock.except[0]", "must be a strict subset of `cidr`"),
				registrytest.Invalid("spec.ingress[0].from[0].ipBlock.except[1]", "must be a strict subset of `cidr`")}},
		{"egress peer", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{}}}}},
			[]registrytest.Want{registrytest.Required("spec.egress[0].to[0]", "must specify a peer")}},
		{"bad policy type", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Sideways"}}, []registrytest.Want{registrytest.NotSupported("spec.policyTypes[0]", "")}},
		{"three policy types", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}},
			[]registrytest.Want{registrytest.Invalid("spec.policyTypes", "may not specify more than two policyTypes")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "ns"}, Spec: tc.spec}
			registrytest.ExpectExactly(t, networkPolicyStrategy.Validate(np), tc.want...)
		})
	}
}

func TestNetworkPolicyTable(t *testing.T) {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}}
	row := networkPolicyTable.Row(np)
	if len(row) != 3 || row[0] != "deny" || row[1] != "<none>" || row[2] != "<unknown>" {
		t.Fatalf("row %v", row)
	}
	np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	if row := networkPolicyTable.Row(np); row[1] != "app=web" {
		t.Fatalf("row %v", row)
	}
	if networkPolicyTable.Columns[1].Name != "Pod-Selector" {
		t.Fatalf("columns %v", networkPolicyTable.Columns)
	}
}
