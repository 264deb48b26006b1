package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Compute resource requirements (containers, pod overhead, pod-level
// resources), as Kubernetes validates them.

// Unprefixed resource names Kubernetes knows (quota and compute).
var standardResourceNames = sets.New(
	"cpu", "memory", "ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage", "requests.storage",
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
	"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
)

// Quota resources counted in whole objects.
var integerResourceNames = sets.New(
	"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
	"persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
)

const hugePagesPrefix = "hugepages-"

func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), hugePagesPrefix)
}

// isNativeResource: unprefixed, or in the kubernetes.io domain.
func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), "kubernetes.io/")
}

// isExtendedResource: a domain-prefixed resource outside kubernetes.io,
// such as nvidia.com/gpu.
func isExtendedResource(name corev1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+string(name))) == 0
}

// overcommitAllowed: requests may stay below limits (not for hugepages and
// extended resources).
func overcommitAllowed(name corev1.ResourceName) bool {
	return isNativeResource(name) && !isHugePages(name)
}

func validateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	errs := checkQualifiedName(string(name), fldPath)
	if len(errs) != 0 {
		return errs
	}
	unprefixed := !strings.Contains(string(name), "/")
	if unprefixed && !standardResourceNames.Has(string(name)) && !isHugePages(name) &&
		!strings.HasPrefix(string(name), "requests."+hugePagesPrefix) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	switch {
	case unprefixed:
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage && !isHugePages(name) {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	case !isNativeResource(name) && !isExtendedResource(name):
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

func validateResourceQuantity(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(fldPath, q.String(), apivalidation.IsNegativeErrorMsg))
	}
	if (integerResourceNames.Has(string(name)) || isExtendedResource(name)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, "must be an integer"))
	}
	if isHugePages(name) && !hugePagesDivisible(name, q) {
		errs = append(errs, field.Invalid(fldPath, q.String(), fmt.Sprintf("%s is not positive integer multiple of %s", q.String(), name)))
	}
	return errs
}

// hugePagesDivisible: a hugepages quantity must be whole pages.
func hugePagesDivisible(name corev1.ResourceName, q resource.Quantity) bool {
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(name), hugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 {
		return false
	}
	return q.Value()%size.Value() == 0
}

// validateResourceRequirements checks a container's requests and limits
// and its resource claim references (claimNames nil: no claims allowed).
func validateResourceRequirements(req *corev1.ResourceRequirements, claimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	computeSet, hugeSet := false, false
	for name, q := range req.Limits {
		p := limPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateResourceQuantity(name, q, p)...)
		computeSet = computeSet || name == corev1.ResourceCPU || name == corev1.ResourceMemory
		hugeSet = hugeSet || isHugePages(name)
	}
	for name, q := range req.Requests {
		p := reqPath.Key(string(name))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateResourceQuantity(name, q, p)...)
		if limit, ok := req.Limits[name]; ok {
			if q.Cmp(limit) != 0 && !overcommitAllowed(name) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
			} else if q.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
			}
		} else if !overcommitAllowed(name) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		computeSet = computeSet || name == corev1.ResourceCPU || name == corev1.ResourceMemory
		hugeSet = hugeSet || isHugePages(name)
	}
	if hugeSet && !computeSet {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(errs, validateResourceClaimRefs(req.Claims, claimNames, fldPath.Child("claims"))...)
}

// validateResourceClaimRefs: every claim a container uses must be one of
// the pod's spec.resourceClaims.
func validateResourceClaimRefs(claims []corev1.ResourceClaim, podClaims sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		p := fldPath.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(p, ""))
			continue
		}
		if seen.Has(c.Name) {
			errs = append(errs, field.Duplicate(p, c.Name))
		}
		seen.Insert(c.Name)
		if !podClaims.Has(c.Name) {
			e := field.NotFound(p, c.Name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			if podClaims.Len() == 0 {
				e.Detail += " which is empty"
			} else {
				e.Detail += ": " + strings.Join(sets.List(podClaims), ", ")
			}
			errs = append(errs, e)
		}
	}
	return errs
}

// validatePodLevelResources checks spec.resources: only cpu, memory and
// hugepages, no claims, requests within limits.
func validatePodLevelResources(req *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if req.Claims != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("claims"), "claims cannot be set for Resources at pod-level"))
	}
	supported := []string{"cpu", "hugepages-", "memory"}
	check := func(list corev1.ResourceList, p *field.Path) {
		for name, q := range list {
			kp := p.Key(string(name))
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory && !isHugePages(name) {
				errs = append(errs, field.NotSupported(kp, name, supported))
				continue
			}
			errs = append(errs, validateResourceQuantity(name, q, kp)...)
		}
	}
	check(req.Limits, fldPath.Child("limits"))
	check(req.Requests, fldPath.Child("requests"))
	for name, q := range req.Requests {
		if limit, ok := req.Limits[name]; ok && q.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("requests"), q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		}
	}
	return errs
}
