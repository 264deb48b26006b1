package coordination

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Kubernetes-defined lease strategies; other strategies must be
// domain-prefixed names.
var leaseStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

var (
	leaseStrategy = registry.Strategy{
		Validate: func(obj runtime.Object) field.ErrorList { return validateLeaseSpec(&obj.(*coordinationv1.Lease).Spec) },
	}
	leaseTable = &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			registry.Column("Holder", "string", 0, coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
			registry.AgeColumn,
		},
		Row: func(obj runtime.Object) []interface{} {
			lease := obj.(*coordinationv1.Lease)
			holder := ""
			if lease.Spec.HolderIdentity != nil {
				holder = *lease.Spec.HolderIdentity
			}
			return []interface{}{lease.Name, holder, registry.Age(lease.CreationTimestamp)}
		},
	}
)

// validateLeaseSpec checks durations and counters and the coordinated
// leader election fields. The holder identity is free-form.
func validateLeaseSpec(spec *coordinationv1.LeaseSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if n := spec.LeaseTransitions; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *n, "must be greater than or equal to 0"))
	}
	if spec.Strategy != nil {
		errs = append(errs, validateCoordinatedStrategy(*spec.Strategy, p.Child("strategy"))...)
	}
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// validateCoordinatedStrategy accepts the built-in strategies and
// domain-prefixed custom ones. Kubernetes reports these errors one level
// deeper than the field (spec.strategy.strategy); kept for identical
// output.
func validateCoordinatedStrategy(s coordinationv1.CoordinatedLeaseStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !strings.Contains(string(s), "/") {
		for _, known := range leaseStrategies {
			if s == known {
				return nil
			}
		}
		return field.ErrorList{field.NotSupported(p.Child("strategy"), s, leaseStrategies)}
	}
	for _, msg := range content.IsQualifiedName(string(s)) {
		errs = append(errs, field.Invalid(p.Child("strategy"), s, msg))
	}
	return errs
}
