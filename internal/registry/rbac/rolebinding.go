package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// RoleBindings grant a Role or ClusterRole within one namespace. The role
// they reference cannot change.
var (
	roleBindingStrategy = registry.Strategy{
		Default: func(obj runtime.Object) {
			rb := obj.(*rbacv1.RoleBinding)
			defaultBinding(&rb.RoleRef, rb.Subjects)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			rb := obj.(*rbacv1.RoleBinding)
			return validateBinding(rb.RoleRef, rb.Subjects, []string{"Role", "ClusterRole"}, true)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateRoleRefUnchanged(obj.(*rbacv1.RoleBinding).RoleRef, old.(*rbacv1.RoleBinding).RoleRef)
		},
		NameValidator: validateName,
	}
	roleBindingTable = &registry.Table{
		Columns: bindingColumns("roleBinding", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		Row: func(obj runtime.Object) []interface{} {
			rb := obj.(*rbacv1.RoleBinding)
			return bindingRow(&rb.ObjectMeta, rb.RoleRef, rb.Subjects)
		},
	}
)
