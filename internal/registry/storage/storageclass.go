package storage

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

const (
	// IsDefaultClassAnnotation marks the StorageClass claims without a class
	// use.
	IsDefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"
	// BetaIsDefaultClassAnnotation is the older spelling, still honoured.
	BetaIsDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

	maxParameters    = 512
	maxParameterSize = 256 << 10
)

var (
	reclaimPolicies    = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}
	volumeBindingModes = []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}
)

var (
	storageClassStrategy = registry.Strategy{
		Default:  func(obj runtime.Object) { defaultStorageClass(obj.(*storagev1.StorageClass)) },
		Validate: func(obj runtime.Object) field.ErrorList { return validateStorageClass(obj.(*storagev1.StorageClass)) },
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validateStorageClassUpdate(obj.(*storagev1.StorageClass), old.(*storagev1.StorageClass))
		},
	}
	storageClassTable = &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			registry.Column("Provisioner", "string", 0, storagev1.StorageClass{}.SwaggerDoc()["provisioner"]),
			registry.Column("ReclaimPolicy", "string", 0, storagev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"]),
			registry.Column("VolumeBindingMode", "string", 0, storagev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"]),
			registry.Column("AllowVolumeExpansion", "string", 0, storagev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"]),
			registry.AgeColumn,
		},
		Row: func(obj runtime.Object) []interface{} { return storageClassRow(obj.(*storagev1.StorageClass)) },
	}
)

func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	prov := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		errs = append(errs, field.Required(prov, ""))
	} else {
		// Provisioner names are compared case-insensitively.
		lower := strings.ToLower(sc.Provisioner)
		for _, msg := range content.IsQualifiedName(lower) {
			errs = append(errs, field.Invalid(prov, lower, msg))
		}
	}
	errs = append(errs, validateParameters(sc.Parameters)...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !slices.Contains(reclaimPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *p, reclaimPolicies))
	}
	mode := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(mode, ""))
	} else if !slices.Contains(volumeBindingModes, string(*sc.VolumeBindingMode)) {
		errs = append(errs, field.NotSupported(mode, *sc.VolumeBindingMode, volumeBindingModes))
	}
	return append(errs, validateAllowedTopologies(sc.AllowedTopologies)...)
}

// validateParameters bounds the opaque provisioner parameters: at most 512
// entries, no empty keys, 256 KiB in all.
func validateParameters(params map[string]string) field.ErrorList {
	p := field.NewPath("parameters")
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(p, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k == "" {
			errs = append(errs, field.Invalid(p, k, "field can not be empty."))
		}
		size += len(k) + len(params[k])
	}
	if size > maxParameterSize {
		errs = append(errs, field.TooLong(p, "", maxParameterSize))
	}
	return errs
}

// validateAllowedTopologies checks the topology terms: every expression
// needs a valid key and values, keys are unique within a term and terms are
// unique.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm) field.ErrorList {
	var errs field.ErrorList
	seen := make([]string, 0, len(terms))
	for i, term := range terms {
		termPath := field.NewPath("allowedTopologies").Index(i)
		exprsPath := termPath.Child("matchLabelExpressions")
		keys := map[string]bool{}
		var canonical []string
		for j, expr := range term.MatchLabelExpressions {
			exprPath := exprsPath.Index(j)
			errs = append(errs, validateTopologyRequirement(expr, exprPath)...)
			if keys[expr.Key] {
				errs = append(errs, field.Duplicate(exprPath.Child("key"), expr.Key))
			}
			keys[expr.Key] = true
			vals := slices.Clone(expr.Values)
			slices.Sort(vals)
			canonical = append(canonical, fmt.Sprintf("%q=%q", expr.Key, slices.Compact(vals)))
		}
		slices.Sort(canonical)
		key := strings.Join(canonical, ",")
		if slices.Contains(seen, key) {
			errs = append(errs, field.Duplicate(exprsPath, ""))
		}
		seen = append(seen, key)
	}
	return errs
}

func validateTopologyRequirement(req corev1.TopologySelectorLabelRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	values := p.Child("values")
	if len(req.Values) == 0 {
		errs = append(errs, field.Required(values, ""))
	}
	for i, v := range req.Values {
		if slices.Contains(req.Values[:i], v) {
			errs = append(errs, field.Duplicate(values.Index(i), v))
		}
	}
	return append(errs, metavalidation.ValidateLabelName(req.Key, p.Child("key"))...)
}

// validateStorageClassUpdate forbids changing anything provisioning
// depends on: provisioner, parameters, reclaimPolicy, volumeBindingMode.
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	// Kubernetes compares the maps deeply; an empty map and a missing one
	// mean the same here, so a client resending "parameters: {}" is not
	// refused.
	if !maps.Equal(sc.Parameters, old.Parameters) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if derefString(sc.ReclaimPolicy) != derefString(old.ReclaimPolicy) {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(errs, apivalidation.ValidateImmutableField(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

func derefString[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// IsDefaultClass reports whether the class is annotated as the default.
func IsDefaultClass(meta *metav1.ObjectMeta) bool {
	return meta.Annotations[IsDefaultClassAnnotation] == "true" || meta.Annotations[BetaIsDefaultClassAnnotation] == "true"
}

func storageClassRow(sc *storagev1.StorageClass) []interface{} {
	name := sc.Name
	if IsDefaultClass(&sc.ObjectMeta) {
		name += " (default)"
	}
	reclaim := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	mode := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		mode = string(*sc.VolumeBindingMode)
	}
	expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []interface{}{name, sc.Provisioner, reclaim, mode, expansion, registry.Age(sc.CreationTimestamp)}
}
