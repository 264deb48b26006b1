package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// ClusterRoleBindings grant a ClusterRole cluster-wide; ServiceAccount
// subjects must name their namespace. The role they reference cannot
// change.
var (
	clusterRoleBindingStrategy = registry.Strategy{
		Default: func(obj runtime.Object) {
			crb := obj.(*rbacv1.ClusterRoleBinding)
			defaultBinding(&crb.RoleRef, crb.Subjects)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			crb := obj.(*rbacv1.ClusterRoleBinding)
			return validateBinding(crb.RoleRef, crb.Subjects, []string{"ClusterRole"}, false)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateRoleRefUnchanged(obj.(*rbacv1.ClusterRoleBinding).RoleRef, old.(*rbacv1.ClusterRoleBinding).RoleRef)
		},
		NameValidator: validateName,
	}
	clusterRoleBindingTable = &registry.Table{
		Columns: bindingColumns("clusterRoleBinding", rbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
		Row: func(obj runtime.Object) []interface{} {
			crb := obj.(*rbacv1.ClusterRoleBinding)
			return bindingRow(&crb.ObjectMeta, crb.RoleRef, crb.Subjects)
		},
	}
)
