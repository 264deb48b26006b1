package networking

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestIngressClassDefault(t *testing.T) {
	ic := &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
		Parameters: &networkingv1.IngressClassParametersReference{Kind: "Config", Name: "c"}}}
	ingressClassStrategy.Default(ic)
	ingressClassStrategy.Default(ic)
	if ic.Spec.Parameters.Scope == nil || *ic.Spec.Parameters.Scope != "Cluster" {
		t.Fatalf("scope %v", ic.Spec.Parameters.Scope)
	}
	none := &networkingv1.IngressClass{}
	ingressClassStrategy.Default(none)
	if none.Spec.Parameters != nil {
		t.Fatal("defaulting created parameters")
	}
}

func TestIngressClassValidate(t *testing.T) {
	params := func(scope, ns *string) *networkingv1.IngressClassParametersReference {
		return &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "Config", Name: "c", Scope: scope, Namespace: ns}
	}
	cases := []struct {
		name string
		spec networkingv1.IngressClassSpec
		want []registrytest.Want
	}{
		{"valid", networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}, nil},
		{"cluster parameters", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(ptr("Cluster"), nil)}, nil},
		{"namespaced parameters", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(ptr("Namespace"), ptr("ingress"))}, nil},
		{"no controller", networkingv1.IngressClassSpec{}, []registrytest.Want{registrytest.Required("spec.controller", "")}},
		{"controller without domain", networkingv1.IngressClassSpec{Controller: "nginx"},
			[]registrytest.Want{registrytest.Invalid("spec.controller", "must be a domain-prefixed path")}},
		{"long controller", networkingv1.IngressClassSpec{Controller: "a.io/" + strings.Repeat("x", 250)}, []registrytest.Want{registrytest.TooLong("spec.controller", "")}},
		{"no scope", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(nil, nil)}, []registrytest.Want{registrytest.Required("spec.parameters.scope", "")}},
		{"bad scope", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(ptr("Global"), nil)}, []registrytest.Want{registrytest.NotSupported("spec.parameters.scope", "")}},
		{"namespace scope without namespace", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(ptr("Namespace"), nil)},
			[]registrytest.Want{registrytest.Required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'")}},
		{"cluster scope with namespace", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: params(ptr("Cluster"), ptr("x"))},
			[]registrytest.Want{registrytest.Forbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'")}},
		{"bad reference", networkingv1.IngressClassSpec{Controller: "a.io/b", Parameters: &networkingv1.IngressClassParametersReference{
			APIGroup: ptr("Bad Group"), Name: "a/b", Scope: ptr("Cluster")}},
			[]registrytest.Want{registrytest.Invalid("spec.parameters.apiGroup", ""), registrytest.Required("spec.parameters.kind", "kind is required"), registrytest.Invalid("spec.parameters.name", "may not contain '/'")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: tc.spec}
			registrytest.ExpectExactly(t, ingressClassStrategy.Validate(ic), tc.want...)
		})
	}
}

func TestIngressClassValidateUpdate(t *testing.T) {
	old := &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: "a.io/b"}}
	same := old.DeepCopy()
	same.Spec.Parameters = &networkingv1.IngressClassParametersReference{Kind: "C", Name: "c", Scope: ptr("Cluster")}
	registrytest.ExpectValid(t, ingressClassStrategy.ValidateUpdate(same, old))
	changed := old.DeepCopy()
	changed.Spec.Controller = "a.io/c"
	registrytest.ExpectExactly(t, ingressClassStrategy.ValidateUpdate(changed, old), registrytest.Invalid("spec.controller", "field is immutable"))
}

func TestIngressClassTable(t *testing.T) {
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if row := ingressClassTable.Row(ic); len(row) != 4 || row[1] != "k8s.io/ingress-nginx" || row[2] != "<none>" {
		t.Fatalf("row %v", row)
	}
	ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "Config", Name: "c"}
	if row := ingressClassTable.Row(ic); row[2] != "Config.k8s.example.com/c" {
		t.Fatalf("row %v", row)
	}
	ic.Spec.Parameters.APIGroup = nil
	if row := ingressClassTable.Row(ic); row[2] != "Config/c" {
		t.Fatalf("row %v", row)
	}
}
