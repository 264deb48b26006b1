package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClusterRoleBindingValidate(t *testing.T) {
	ref := rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: "view"}
	cases := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		want     []want
	}{
		{"valid", ref, []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: "x"}, {Kind: "Group", APIGroup: rbacGroup, Name: "g"}}, nil},
		{"role kind", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "r"}, nil, []want{notSupported("roleRef.kind")}},
		{"sa without namespace", ref, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "x"}}, []want{required("subjects[0].namespace", "")}},
		{"empty", rbacv1.RoleRef{}, nil, []want{notSupported("roleRef.apiGroup"), notSupported("roleRef.kind"), required("roleRef.name", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: tc.ref, Subjects: tc.subjects}
			checkErrs(t, clusterRoleBindingStrategy.Validate(crb), tc.want...)
		})
	}
}

func TestClusterRoleBindingDefaultAndUpdate(t *testing.T) {
	crb := &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}}
	clusterRoleBindingStrategy.Default(crb)
	checkErrs(t, clusterRoleBindingStrategy.Validate(crb))
	changed := crb.DeepCopy()
	changed.RoleRef.Kind = "Role"
	checkErrs(t, clusterRoleBindingStrategy.ValidateUpdate(changed, crb), invalid("roleRef", "cannot change roleRef"))
	checkErrs(t, clusterRoleBindingStrategy.ValidateUpdate(crb.DeepCopy(), crb))
}

func TestClusterRoleBindingTable(t *testing.T) {
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}}}
	row := clusterRoleBindingTable.Row(crb)
	want := []interface{}{"cluster-admin", "ClusterRole/cluster-admin", "<unknown>", "", "system:masters", ""}
	if len(row) != len(clusterRoleBindingTable.Columns) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
	if clusterRoleBindingTable.Columns[3].Description != "Users in the clusterRoleBinding" {
		t.Errorf("description %q", clusterRoleBindingTable.Columns[3].Description)
	}
}
