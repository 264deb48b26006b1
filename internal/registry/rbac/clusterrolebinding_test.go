package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestClusterRoleBindingValidate(t *testing.T) {
	ref := rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: "view"}
	cases := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		want     []registrytest.Want
	}{
		{"valid", ref, []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: "x"}, {Kind: "Group", APIGroup: rbacGroup, Name: "g"}}, nil},
		{"role kind", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "r"}, nil, []registrytest.Want{registrytest.NotSupported("roleRef.kind", "")}},
		{"sa without namespace", ref, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "x"}}, []registrytest.Want{registrytest.Required("subjects[0].namespace", "")}},
		{"empty", rbacv1.RoleRef{}, nil, []registrytest.Want{registrytest.NotSupported("roleRef.apiGroup", ""), registrytest.NotSupported("roleRef.kind", ""), registrytest.Required("roleRef.name", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, RoleRef: tc.ref, Subjects: tc.subjects}
			registrytest.ExpectExactly(t, clusterRoleBindingStrategy.Validate(crb), tc.want...)
		})
	}
}

func TestClusterRoleBindingDefaultAndUpdate(t *testing.T) {
	crb := &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}}
	clusterRoleBindingStrategy.Default(crb)
	registrytest.ExpectValid(t, clusterRoleBindingStrategy.Validate(crb))
	changed := crb.DeepCopy()
	changed.RoleRef.Kind = "Role"
	registrytest.ExpectExactly(t, clusterRoleBindingStrategy.ValidateUpdate(changed, crb), registrytest.Invalid("roleRef", "cannot change roleRef"))
	registrytest.ExpectValid(t, clusterRoleBindingStrategy.ValidateUpdate(crb.DeepCopy(), crb))
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
