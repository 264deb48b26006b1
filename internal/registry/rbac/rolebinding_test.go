package rbac

import (
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestRoleBindingDefault(t *testing.T) {
	rb := &rbacv1.RoleBinding{
		RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "u"}, {Kind: "Group", Name: "g"},
			{Kind: "ServiceAccount", Name: "sa"}, {Kind: "User", APIGroup: "other", Name: "x"},
			{Kind: "Robot", Name: "r"},
		},
	}
	for range 2 { // defaulting is idempotent
		roleBindingStrategy.Default(rb)
	}
	if rb.RoleRef.APIGroup != rbacGroup {
		t.Errorf("roleRef.apiGroup %q", rb.RoleRef.APIGroup)
	}
	for i, wantGroup := range []string{rbacGroup, rbacGroup, "", "other", ""} {
		if rb.Subjects[i].APIGroup != wantGroup {
			t.Errorf("subjects[%d].apiGroup = %q, want %q", i, rb.Subjects[i].APIGroup, wantGroup)
		}
	}
}

func TestRoleBindingValidate(t *testing.T) {
	ref := rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "r"}
	user := rbacv1.Subject{Kind: "User", APIGroup: rbacGroup, Name: "u"}
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: "default"}
	cases := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		want     []registrytest.Want
	}{
		{"valid", ref, []rbacv1.Subject{user, sa}, nil},
		{"cluster role", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: "view"}, nil, nil},
		{"wrong group", rbacv1.RoleRef{APIGroup: "x", Kind: "Role", Name: "r"}, nil, []registrytest.Want{registrytest.NotSupported("roleRef.apiGroup", "")}},
		{"wrong kind", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Pod", Name: "r"}, nil, []registrytest.Want{registrytest.NotSupported("roleRef.kind", "")}},
		{"no name", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role"}, nil, []registrytest.Want{registrytest.Required("roleRef.name", "")}},
		{"bad name", rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "a/b"}, nil, []registrytest.Want{registrytest.Invalid("roleRef.name", "may not contain '/'")}},
		{"subject no name", ref, []rbacv1.Subject{{Kind: "User", APIGroup: rbacGroup}}, []registrytest.Want{registrytest.Required("subjects[0].name", "")}},
		{"subject bad kind", ref, []rbacv1.Subject{user, {Kind: "Robot", Name: "x"}}, []registrytest.Want{registrytest.NotSupported("subjects[1].kind", "")}},
		{"user wrong group", ref, []rbacv1.Subject{{Kind: "User", APIGroup: "x", Name: "u"}}, []registrytest.Want{registrytest.NotSupported("subjects[0].apiGroup", "")}},
		{"sa with group", ref, []rbacv1.Subject{{Kind: "ServiceAccount", APIGroup: rbacGroup, Name: "sa"}}, []registrytest.Want{registrytest.NotSupported("subjects[0].apiGroup", "")}},
		{"sa bad name", ref, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "Bad_Name"}}, []registrytest.Want{registrytest.Invalid("subjects[0].name", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns"}, RoleRef: tc.ref, Subjects: tc.subjects}
			registrytest.ExpectExactly(t, roleBindingStrategy.Validate(rb), tc.want...)
		})
	}
}

func TestRoleBindingValidateUpdate(t *testing.T) {
	old := &rbacv1.RoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: "r"}}
	same := old.DeepCopy()
	same.Subjects = []rbacv1.Subject{{Kind: "User", APIGroup: rbacGroup, Name: "u"}}
	registrytest.ExpectValid(t, roleBindingStrategy.ValidateUpdate(same, old))
	changed := old.DeepCopy()
	changed.RoleRef.Name = "other"
	registrytest.ExpectExactly(t, roleBindingStrategy.ValidateUpdate(changed, old), registrytest.Invalid("roleRef", "cannot change roleRef"))
}

func TestRoleBindingTable(t *testing.T) {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "b", CreationTimestamp: metav1.NewTime(time.Now().Add(-90 * time.Minute))},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"}, {Kind: "Group", Name: "devs"},
			{Kind: "ServiceAccount", Namespace: "ns", Name: "ci"},
		},
	}
	var names []string
	for _, c := range roleBindingTable.Columns {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if len(names) != 3 || names[1] != "Role" || names[2] != "Age" || len(roleBindingTable.Columns) != 6 {
		t.Fatalf("columns %v", roleBindingTable.Columns)
	}
	row := roleBindingTable.Row(rb)
	wantRow := []interface{}{"b", "ClusterRole/edit", "90m", "alice, bob", "devs", "ns/ci"}
	for i := range wantRow {
		if row[i] != wantRow[i] {
			t.Fatalf("row %v, want %v", row, wantRow)
		}
	}
}
