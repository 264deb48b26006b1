package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// ClusterRoles grant cluster-wide permissions, may name non-resource URLs
// and may aggregate the rules of other ClusterRoles through label
// selectors. Kubernetes prints them with the default table.
var (
	clusterRoleStrategy = registry.Strategy{
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateClusterRole(obj.(*rbacv1.ClusterRole))
		},
		NameValidator: validateName,
	}
	clusterRoleTable = createdAtTable
)

func validateClusterRole(role *rbacv1.ClusterRole) field.ErrorList {
	errs := validateRules(role.Rules, false)
	return append(errs, validateAggregationRule(role.AggregationRule)...)
}
