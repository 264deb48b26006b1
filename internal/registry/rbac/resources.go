// Package rbac describes rbac.authorization.k8s.io/v1 Roles, ClusterRoles
// and their bindings.
package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the rbac.authorization.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	rs := []*registry.Resource{
		{
			Resource: "clusterrolebindings", Kind: "ClusterRoleBinding",
			New:      func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
			NewList:  func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
			Strategy: clusterRoleBindingStrategy,
			Table:    clusterRoleBindingTable,
		},
		{
			Resource: "clusterroles", Kind: "ClusterRole",
			New:      func() runtime.Object { return &rbacv1.ClusterRole{} },
			NewList:  func() runtime.Object { return &rbacv1.ClusterRoleList{} },
			Strategy: clusterRoleStrategy,
			Table:    clusterRoleTable,
		},
		{
			Resource: "rolebindings", Kind: "RoleBinding", Namespaced: true,
			New:      func() runtime.Object { return &rbacv1.RoleBinding{} },
			NewList:  func() runtime.Object { return &rbacv1.RoleBindingList{} },
			Strategy: roleBindingStrategy,
			Table:    roleBindingTable,
		},
		{
			Resource: "roles", Kind: "Role", Namespaced: true,
			New:      func() runtime.Object { return &rbacv1.Role{} },
			NewList:  func() runtime.Object { return &rbacv1.RoleList{} },
			Strategy: roleStrategy,
			Table:    roleTable,
		},
	}
	for _, r := range rs {
		r.Group, r.Version = "rbac.authorization.k8s.io", "v1"
		r.AllowCreateOnUpdate = true
	}
	return rs
}
