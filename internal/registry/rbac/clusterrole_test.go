package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestClusterRoleValidate(t *testing.T) {
	sel := func(s metav1.LabelSelector) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{s}}
	}
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		agg   *rbacv1.AggregationRule
		want  []registrytest.Want
	}{
		{"non-resource URLs", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/api/*"}}}, nil, nil},
		{"aggregation", nil, sel(metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}), nil},
		{"mixed", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, APIGroups: []string{""}}}, nil,
			[]registrytest.Want{registrytest.Invalid("rules[0].nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs")}},
		{"no verbs", []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}}}, nil,
			[]registrytest.Want{registrytest.Required("rules[0].verbs", "")}},
		{"empty aggregation", nil, &rbacv1.AggregationRule{},
			[]registrytest.Want{registrytest.Required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil")}},
		{"bad selector", nil, sel(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}),
			[]registrytest.Want{
				registrytest.Invalid("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator", "not a valid selector operator"),
				registrytest.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			}},
		{"bad selector value", nil, sel(metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}),
			[]registrytest.Want{
				registrytest.Invalid("aggregationRule.clusterRoleSelectors[0].matchLabels", ""),
				registrytest.Invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: tc.rules, AggregationRule: tc.agg}
			registrytest.ExpectExactly(t, clusterRoleStrategy.Validate(role), tc.want...)
		})
	}
}

func TestClusterRoleTable(t *testing.T) {
	row := clusterRoleTable.Row(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view"}})
	if len(row) != len(clusterRoleTable.Columns) || row[0] != "view" {
		t.Fatalf("row %v", row)
	}
}
