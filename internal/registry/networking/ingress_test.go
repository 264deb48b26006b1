package networking

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func svcBackend(name string, port networkingv1.ServiceBackendPort) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: port}}
}

func rule(host, path string, pathType *networkingv1.PathType, backend networkingv1.IngressBackend) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
		Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: pathType, Backend: backend}},
	}}}
}

func TestIngressValidate(t *testing.T) {
	prefix, exact, impl := ptr(networkingv1.PathTypePrefix), ptr(networkingv1.PathTypeExact), ptr(networkingv1.PathTypeImplementationSpecific)
	web := svcBackend("web", networkingv1.ServiceBackendPort{Number: 80})
	rules := func(r ...networkingv1.IngressRule) networkingv1.IngressSpec {
		return networkingv1.IngressSpec{Rules: r}
	}
	cases := []struct {
		name string
		spec networkingv1.IngressSpec
		want []registrytest.Want
	}{
		{"valid", rules(rule("example.com", "/", prefix, web), rule("*.example.com", "/api", exact, svcBackend("api", networkingv1.ServiceBackendPort{Name: "http"}))), nil},
		{"default backend only", networkingv1.IngressSpec{DefaultBackend: &web, IngressClassName: ptr("nginx")}, nil},
		{"resource backend", rules(rule("", "", impl, networkingv1.IngressBackend{Resource: &resourceRef})), nil},
		{"tls", networkingv1.IngressSpec{DefaultBackend: &web, TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com", "*.b.example.com"}, SecretName: "tls"}}}, nil},
		{"nothing", networkingv1.IngressSpec{}, []registrytest.Want{registrytest.Invalid("spec", "either `defaultBackend` or `rules` must be specified")}},
		{"ip host", rules(rule("10.0.0.1", "/", prefix, web)), []registrytest.Want{registrytest.Invalid("spec.rules[0].host", "must be a DNS name, not an IP address")}},
		{"bad wildcard", rules(rule("foo.*.com", "/", prefix, web)), []registrytest.Want{registrytest.Invalid("spec.rules[0].host", "")}},
		{"upper case host", rules(rule("Example.com", "/", prefix, web)), []registrytest.Want{registrytest.Invalid("spec.rules[0].host", "")}},
		{"no path type", rules(rule("", "/", nil, web)), []registrytest.Want{registrytest.Required("spec.rules[0].http.paths[0].pathType", "pathType must be specified")}},
		{"bad path type", rules(rule("", "/", ptr(networkingv1.PathType("Regex")), web)), []registrytest.Want{registrytest.NotSupported("spec.rules[0].http.paths[0].pathType", "")}},
		{"relative path", rules(rule("", "api", prefix, web)), []registrytest.Want{registrytest.Invalid("spec.rules[0].http.paths[0].path", "must be an absolute path")}},
		{"unclean path", rules(rule("", "/a//b/..", exact, web)), []registrytest.Want{
			registrytest.Invalid("spec.rules[0].http.paths[0].path", "must not contain '//'"),
			registrytest.Invalid("spec.rules[0].http.paths[0].path", "cannot end with '/..'"),
		}},
		{"impl specific relative", rules(rule("", "a", impl, web)), []registrytest.Want{registrytest.Invalid("spec.rules[0].http.paths[0].path", "must be an absolute path")}},
		{"no paths", rules(networkingv1.IngressRule{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}),
			[]registrytest.Want{registrytest.Required("spec.rules[0].http.paths", "")}},
		{"no backend", rules(rule("", "/", prefix, networkingv1.IngressBackend{})),
			[]registrytest.Want{registrytest.Invalid("spec.rules[0].http.paths[0].backend", "resource or service backend is required")}},
		{"both backends", rules(rule("", "/", prefix, networkingv1.IngressBackend{Service: web.Service, Resource: &resourceRef})),
			[]registrytest.Want{registrytest.Invalid("spec.rules[0].http.paths[0].backend", "cannot set both resource and service backends")}},
		{"service without name", networkingv1.IngressSpec{DefaultBackend: ptr(svcBackend("", networkingv1.ServiceBackendPort{Number: 80}))},
			[]registrytest.Want{registrytest.Required("spec.defaultBackend.service.name", "")}},
		{"bad service name", networkingv1.IngressSpec{DefaultBackend: ptr(svcBackend("1web", networkingv1.ServiceBackendPort{Number: 80}))},
			[]registrytest.Want{registrytest.Invalid("spec.defaultBackend.service.name", "")}},
		{"no port", networkingv1.IngressSpec{DefaultBackend: ptr(svcBackend("web", networkingv1.ServiceBackendPort{}))},
			[]registrytest.Want{registrytest.Required("spec.defaultBackend", "port name or number is required")}},
		{"both ports", networkingv1.IngressSpec{DefaultBackend: ptr(svcBackend("web", networkingv1.ServiceBackendPort{Name: "http", Number: 80}))},
			[]registrytest.Want{registrytest.Invalid("spec.defaultBackend", "cannot set both port name & port number")}},
		{"bad port number", networkingv1.IngressSpec{DefaultBackend: ptr(svcBackend("web", networkingv1.ServiceBackendPort{Number: 70000}))},
			[]registrytest.Want{registrytest.Invalid("spec.defaultBackend.service.port.number", "")}},
		{"resource without kind", networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Resource: &resourceRefNoKind}},
			[]registrytest.Want{registrytest.Required("spec.defaultBackend.resource.kind", "kind is required")}},
		{"bad tls host and secret", networkingv1.IngressSpec{DefaultBackend: &web, TLS: []networkingv1.IngressTLS{{}, {Hosts: []string{"ok.com", "a_b"}, SecretName: "Bad"}}},
			[]registrytest.Want{registrytest.Invalid("spec.tls[1].hosts[1]", ""), registrytest.Invalid("spec.tls[1].secretName", "")}},
		{"bad class name", networkingv1.IngressSpec{DefaultBackend: &web, IngressClassName: ptr("Nginx")}, []registrytest.Want{registrytest.Invalid("spec.ingressClassName", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "ing", Namespace: "ns"}, Spec: tc.spec}
			registrytest.ExpectExactly(t, ingressStrategy.Validate(ing), tc.want...)
		})
	}
}

func TestIngressClassAnnotation(t *testing.T) {
	web := svcBackend("web", networkingv1.ServiceBackendPort{Number: 80})
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "ing", Annotations: map[string]string{"kubernetes.io/ingress.class": "traefik"}},
		Spec:       networkingv1.IngressSpec{DefaultBackend: &web, IngressClassName: ptr("nginx")},
	}
	registrytest.ExpectExactly(t, ingressStrategy.Validate(ing), registrytest.Invalid("annotations.kubernetes.io/ingress.class", "must match `ingressClassName` when both are specified"))
	ing.Spec.IngressClassName = ptr("traefik")
	registrytest.ExpectValid(t, ingressStrategy.Validate(ing))
	// Existing objects are not held to the create-time rule.
	ing.Spec.IngressClassName, ing.ResourceVersion = ptr("nginx"), "12"
	registrytest.ExpectValid(t, ingressStrategy.Validate(ing))
}

func TestIngressValidateStatus(t *testing.T) {
	ing := &networkingv1.Ingress{Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
		Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "10.0.0.1"}, {Hostname: "lb.example.com"}, {IP: "nope"}, {Hostname: "10.0.0.2"}},
	}}}
	registrytest.ExpectExactly(t, ingressStrategy.ValidateStatus(ing, ing),
		registrytest.Invalid("status.loadBalancer.ingress[2].ip", "must be a valid IP address"),
		registrytest.Invalid("status.loadBalancer.ingress[3].hostname", "must be a DNS name, not an IP address"))
}

func TestIngressTable(t *testing.T) {
	var names []string
	for _, c := range ingressTable.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Name,Class,Hosts,Address,Ports,Age" {
		t.Fatalf("columns %v", names)
	}
	web := svcBackend("web", networkingv1.ServiceBackendPort{Number: 80})
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "ing", CreationTimestamp: metav1.NewTime(time.Now().Add(-49 * time.Hour))},
		Spec:       networkingv1.IngressSpec{DefaultBackend: &web},
	}
	want := []interface{}{"ing", "<none>", "*", "", "80", "2d1h"}
	row := ingressTable.Row(ing)
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
	ing.Spec.IngressClassName = ptr("nginx")
	ing.Spec.TLS = []networkingv1.IngressTLS{{}}
	for _, h := range []string{"a.com", "", "b.com", "c.com", "d.com"} {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{
		{IP: "192.168.10.200"}, {Hostname: "lb.example.com"}, {IP: "10.0.0.1"}, {IP: "10.0.0.1"},
	}
	row = ingressTable.Row(ing)
	want = []interface{}{"ing", "nginx", "a.com,b.com,c.com + 2 more...", "10.0.0.1,192.168.10.200,lb.example.com", "80, 443"}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
	ing.Spec.Rules = ing.Spec.Rules[:4]
	if row = ingressTable.Row(ing); row[2] != "a.com,b.com,c.com" {
		t.Fatalf("hosts %v", row[2])
	}
}

var (
	resourceRef       = corev1.TypedLocalObjectReference{APIGroup: ptr("storage.k8s.io"), Kind: "Bucket", Name: "assets"}
	resourceRefNoKind = corev1.TypedLocalObjectReference{Name: "assets"}
)
