package rbac

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestRoleValidate(t *testing.T) {
	podRead := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []registrytest.Want
	}{
		{"valid", []rbacv1.PolicyRule{podRead}, nil},
		{"resource names", []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods", "services"}, ResourceNames: []string{"a"}}}, nil},
		{"no rules", nil, nil},
		{"no verbs", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}},
			[]registrytest.Want{registrytest.Required("rules[0].verbs", "verbs must contain at least one value")}},
		{"no api groups", []rbacv1.PolicyRule{podRead, {Verbs: []string{"get"}, Resources: []string{"pods"}}},
			[]registrytest.Want{registrytest.Required("rules[1].apiGroups", "resource rules must supply at least one api group")}},
		{"no resources", []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{"apps"}}},
			[]registrytest.Want{registrytest.Required("rules[0].resources", "resource rules must supply at least one resource")}},
		{"non-resource URL", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			[]registrytest.Want{registrytest.Invalid("rules[0].nonResourceURLs", "namespaced rules cannot apply to non-resource URLs")}},
		{"mixed", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"}}},
			[]registrytest.Want{
				registrytest.Invalid("rules[0].nonResourceURLs", "namespaced rules cannot apply to non-resource URLs"),
				registrytest.Invalid("rules[0].nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs"),
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Rules: tc.rules}
			registrytest.ExpectExactly(t, roleStrategy.Validate(role), tc.want...)
		})
	}
}

func TestRBACNameValidator(t *testing.T) {
	for _, name := range []string{"system:basic-user", "Upper_Case", "a.b"} {
		if msgs := roleStrategy.NameValidator(name, false); len(msgs) != 0 {
			t.Errorf("%q: unexpected %v", name, msgs)
		}
	}
	for _, name := range []string{".", "..", "a/b", "a%b"} {
		if msgs := clusterRoleBindingStrategy.NameValidator(name, false); len(msgs) == 0 {
			t.Errorf("%q: accepted", name)
		}
	}
}

func TestRoleTable(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600)))
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: created}}
	if roleTable.Columns[0].Name != "Name" || roleTable.Columns[1].Name != "Created At" || len(roleTable.Columns) != 2 {
		t.Fatalf("columns %+v", roleTable.Columns)
	}
	row := roleTable.Row(role)
	if len(row) != 2 || row[0] != "reader" || row[1] != "2024-05-06T06:08:09Z" {
		t.Fatalf("row %v", row)
	}
}
