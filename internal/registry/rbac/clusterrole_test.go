package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClusterRoleValidate(t *testing.T) {
	sel := func(s metav1.LabelSelector) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{s}}
	}
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		agg   *rbacv1.AggregationRule
		want  []want
	}{
		{"non-resource URLs", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/api/*"}}}, nil, nil},
		{"aggregation", nil, sel(metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}), nil},
		{"mixed", []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, APIGroups: []string{""}}}, nil,
			[]want{invalid("rules[0].nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs")}},
		{"no verbs", []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}}}, nil,
			[]want{required("rules[0].verbs", "")}},
		{"empty aggregation", nil, &rbacv1.AggregationRule{},
			[]want{required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil")}},
		{"bad selector", nil, sel(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}),
			[]want{
				invalid("aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator", "not a valid selector operator"),
				invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			}},
		{"bad selector value", nil, sel(metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}),
			[]want{
				invalid("aggregationRule.clusterRoleSelectors[0].matchLabels", ""),
				invalid("aggregationRule.clusterRoleSelectors[0]", "invalid label selector."),
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: tc.rules, AggregationRule: tc.agg}
			checkErrs(t, clusterRoleStrategy.Validate(role), tc.want...)
		})
	}
}

func TestClusterRoleTable(t *testing.T) {
	row := clusterRoleTable.Row(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view"}})
	if len(row) != len(clusterRoleTable.Columns) || row[0] != "view" {
		t.Fatalf("row %v", row)
	}
}
