package policy

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/apps"
)

var pdbStrategy = registry.Strategy{
	Validate: func(obj runtime.Object) field.ErrorList {
		return validatePDBSpec(&obj.(*policyv1.PodDisruptionBudget).Spec, field.NewPath("spec"))
	},
	ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
		return validatePDBStatus(&obj.(*policyv1.PodDisruptionBudget).Status, field.NewPath("status"))
	},
}

var evictionPolicies = []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}

func validatePDBSpec(spec *policyv1.PodDisruptionBudgetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	for _, f := range []struct {
		name  string
		value *intstr.IntOrString
	}{{"minAvailable", spec.MinAvailable}, {"maxUnavailable", spec.MaxUnavailable}} {
		if f.value != nil {
			errs = append(errs, apps.ValidateIntOrPercent(*f.value, p.Child(f.name))...)
			errs = append(errs, apps.ValidateAtMost100Percent(*f.value, p.Child(f.name))...)
		}
	}
	errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector,
		metavalidation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	if u := spec.UnhealthyPodEvictionPolicy; u != nil && !slices.Contains(evictionPolicies, string(*u)) {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *u, evictionPolicies))
	}
	return errs
}

func validatePDBStatus(s *policyv1.PodDisruptionBudgetStatus, p *field.Path) field.ErrorList {
	errs := metavalidation.ValidateConditions(s.Conditions, p.Child("conditions"))
	for _, f := range []struct {
		name  string
		value int32
	}{{"disruptionsAllowed", s.DisruptionsAllowed}, {"currentHealthy", s.CurrentHealthy},
		{"desiredHealthy", s.DesiredHealthy}, {"expectedPods", s.ExpectedPods}} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(f.value), p.Child(f.name))...)
	}
	return errs
}

var pdbTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Min Available", "string", 0, "The minimum number of pods that must be available."),
		registry.Column("Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."),
		registry.Column("Allowed Disruptions", "integer", 0, "Calculated number of pods that may be disrupted at this time."),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		pdb := obj.(*policyv1.PodDisruptionBudget)
		minAvailable, maxUnavailable := "N/A", "N/A"
		if pdb.Spec.MinAvailable != nil {
			minAvailable = pdb.Spec.MinAvailable.String()
		}
		if pdb.Spec.MaxUnavailable != nil {
			maxUnavailable = pdb.Spec.MaxUnavailable.String()
		}
		return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed),
			registry.Age(pdb.CreationTimestamp)}
	},
}
