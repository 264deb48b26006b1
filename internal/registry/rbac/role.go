package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Roles grant namespaced permissions: their rules may not name
// non-resource URLs. Kubernetes prints them with the default table.
var (
	roleStrategy = registry.Strategy{
		Validate:      func(obj runtime.Object) field.ErrorList { return validateRole(obj.(*rbacv1.Role)) },
		NameValidator: validateName,
	}
	roleTable = createdAtTable
)

func validateRole(role *rbacv1.Role) field.ErrorList {
	return validateRules(role.Rules, true)
}
