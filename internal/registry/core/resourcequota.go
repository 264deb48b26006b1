package core

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// ResourceQuotas. The quota controller fills status (hard and used).

var quotaStrategy = registry.Strategy{
	Default:        defaultQuota,
	Validate:       validateQuota,
	ValidateUpdate: validateQuotaUpdate,
	ValidateStatus: validateQuotaStatus,
}

var quotaResourceNames = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true, corev1.ResourceRequestsStorage: true,
	corev1.ResourceRequestsEphemeralStorage: true, corev1.ResourceLimitsCPU: true,
	corev1.ResourceLimitsMemory: true, corev1.ResourceLimitsEphemeralStorage: true,
	corev1.ResourcePods: true, corev1.ResourceQuotas: true, corev1.ResourceServices: true,
	corev1.ResourceReplicationControllers: true, corev1.ResourceSecrets: true,
	corev1.ResourcePersistentVolumeClaims: true, corev1.ResourceConfigMaps: true,
	corev1.ResourceServicesNodePorts: true, corev1.ResourceServicesLoadBalancers: true,
}

var quotaScopes = []string{
	string(corev1.ResourceQuotaScopeTerminating), string(corev1.ResourceQuotaScopeNotTerminating),
	string(corev1.ResourceQuotaScopeBestEffort), string(corev1.ResourceQuotaScopeNotBestEffort),
	string(corev1.ResourceQuotaScopePriorityClass), string(corev1.ResourceQuotaScopeCrossNamespacePodAffinity),
	string(corev1.ResourceQuotaScopeVolumeAttributesClass),
}

func defaultQuota(obj runtime.Object) {
	q := obj.(*corev1.ResourceQuota)
	roundUpQuantities(q.Spec.Hard)
	roundUpQuantities(q.Status.Hard)
	roundUpQuantities(q.Status.Used)
}

// validateQuota checks hard limits (names and quantities), scopes and the
// scope selector, and the status.
func validateQuota(obj runtime.Object) field.ErrorList {
	q := obj.(*corev1.ResourceQuota)
	specPath := field.NewPath("spec")
	errs := quotaListErrs(q.Spec.Hard, specPath.Child("hard"))
	errs = append(errs, quotaScopeErrs(&q.Spec, specPath)...)
	errs = append(errs, quotaScopeSelectorErrs(&q.Spec, specPath)...)
	return append(errs, quotaStatusErrs(&q.Status)...)
}

func quotaStatusErrs(st *corev1.ResourceQuotaStatus) field.ErrorList {
	errs := quotaListErrs(st.Hard, field.NewPath("status", "hard"))
	return append(errs, quotaListErrs(st.Used, field.NewPath("status", "used"))...)
}

func quotaListErrs(list corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		rp := p.Key(string(name))
		errs = append(errs, quotaResourceNameErrs(name, rp)...)
		errs = append(errs, quantityForResourceErrs(name, q, rp)...)
	}
	return errs
}

// quotaResourceNameErrs: unprefixed names must be ones quota tracks.
func quotaResourceNameErrs(name corev1.ResourceName, p *field.Path) field.ErrorList {
	errs := resourceNameErrs(name, p)
	if !strings.Contains(string(name), "/") && !isQuotaResource(name) {
		errs = append(errs, field.Invalid(p, name, "must be a standard resource for quota"))
	}
	return errs
}

func isQuotaResource(name corev1.ResourceName) bool {
	return quotaResourceNames[name] || rnIsQuotaHugePages(name)
}

// quotaScopeAppliesTo reports whether a scope can restrict a resource.
func quotaScopeAppliesTo(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	podCount := name == corev1.ResourcePods
	podCompute := false
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory:
		podCompute = true
	}
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podCount || podCompute
	case corev1.ResourceQuotaScopeBestEffort:
		return podCount
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	}
	return true
}

// sortedHard returns the names of the hard limits, sorted.
func sortedHard(hard corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(hard))
	for n := range hard {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// quotaScopePairErrs rejects BestEffort with NotBestEffort and Terminating
// with NotTerminating.
func quotaScopePairErrs(set map[corev1.ResourceQuotaScope]bool, p *field.Path, bad interface{}) field.ErrorList {
	var errs field.ErrorList
	if set[corev1.ResourceQuotaScopeBestEffort] && set[corev1.ResourceQuotaScopeNotBestEffort] {
		errs = append(errs, field.Invalid(p, bad, "conflicting scopes"))
	}
	if set[corev1.ResourceQuotaScopeTerminating] && set[corev1.ResourceQuotaScopeNotTerminating] {
		errs = append(errs, field.Invalid(p, bad, "conflicting scopes"))
	}
	return errs
}

func quotaScopeErrs(spec *corev1.ResourceQuotaSpec, specPath *field.Path) field.ErrorList {
	if len(spec.Scopes) == 0 {
		return nil
	}
	p := specPath.Child("scopes")
	var errs field.ErrorList
	set := map[corev1.ResourceQuotaScope]bool{}
	for _, scope := range spec.Scopes {
		if !inValues(string(scope), quotaScopes) {
			errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope"))
		}
		for _, name := range sortedHard(spec.Hard) {
			if isQuotaResource(name) && !quotaScopeAppliesTo(scope, name) {
				errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		set[scope] = true
	}
	return append(errs, quotaScopePairErrs(set, p, spec.Scopes)...)
}

// quotaScopeSelectorErrs checks the scope selector's expressions.
func quotaScopeSelectorErrs(spec *corev1.ResourceQuotaSpec, specPath *field.Path) field.ErrorList {
	if spec.ScopeSelector == nil {
		return nil
	}
	p := specPath.Child("scopeSelector", "matchExpressions")
	var errs field.ErrorList
	set := map[corev1.ResourceQuotaScope]bool{}
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !inValues(string(req.ScopeName), quotaScopes) {
			errs = append(errs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for _, name := range sortedHard(spec.Hard) {
			if isQuotaResource(name) && !quotaScopeAppliesTo(req.ScopeName, name) {
				errs = append(errs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		errs = append(errs, scopeRequirementErrs(req, p)...)
		set[req.ScopeName] = true
	}
	return append(errs, quotaScopePairErrs(set, p, spec.Scopes)...)
}

func scopeRequirementErrs(req corev1.ScopedResourceSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch req.ScopeName {
	case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
		corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		if req.Operator != corev1.ScopeSelectorOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator,
				"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
		}
	}
	switch req.Operator {
	case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
		}
	case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
		if len(req.Values) != 0 {
			errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	return errs
}

// validateQuotaUpdate: scopes cannot change.
func validateQuotaUpdate(obj, old runtime.Object) field.ErrorList {
	q, prev := obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota)
	before, after := map[corev1.ResourceQuotaScope]bool{}, map[corev1.ResourceQuotaScope]bool{}
	for _, s := range prev.Spec.Scopes {
		before[s] = true
	}
	for _, s := range q.Spec.Scopes {
		after[s] = true
	}
	same := len(before) == len(after)
	for s := range after {
		same = same && before[s]
	}
	if !same {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, "field is immutable")}
	}
	return nil
}

func validateQuotaStatus(obj, _ runtime.Object) field.ErrorList {
	return quotaStatusErrs(&obj.(*corev1.ResourceQuota).Status)
}

var quotaTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.AgeColumn,
		registry.Column("Request", "string", 0, "Request represents a minimum amount of cpu/memory that a container may consume."),
		registry.Column("Limit", "string", 0, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
	},
	Row: func(obj runtime.Object) []interface{} {
		q := obj.(*corev1.ResourceQuota)
		var requests, limits []string
		for _, name := range sortedHard(q.Status.Hard) {
			used, hard := q.Status.Used[name], q.Status.Hard[name]
			cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
			if strings.HasPrefix(string(name), "limits.") {
				limits = append(limits, cell)
			} else {
				requests = append(requests, cell)
			}
		}
		return []interface{}{q.Name, registry.Age(q.CreationTimestamp), strings.Join(requests, ", "), strings.Join(limits, ", ")}
	},
}
