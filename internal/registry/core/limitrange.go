package core

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// LimitRanges. The admission plugin that applies them to pods is not part
// of this package.

var limitRangeStrategy = registry.Strategy{
	Default:  defaultLimitRange,
	Validate: validateLimitRange,
}

var limitTypes = []string{string(corev1.LimitTypePod), string(corev1.LimitTypeContainer), string(corev1.LimitTypePersistentVolumeClaim)}

// defaultLimitRange fills the defaults of Container items: the default limit
// from max, the default request from the default limit, then from min.
func defaultLimitRange(obj runtime.Object) {
	lr := obj.(*corev1.LimitRange)
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			roundUpQuantities(l)
		}
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		if item.Default == nil {
			item.Default = corev1.ResourceList{}
		}
		if item.DefaultRequest == nil {
			item.DefaultRequest = corev1.ResourceList{}
		}
		fillMissing(item.Default, item.Max)
		fillMissing(item.DefaultRequest, item.Default)
		fillMissing(item.DefaultRequest, item.Min)
	}
}

// fillMissing copies into dst the entries of src it does not have.
func fillMissing(dst, src corev1.ResourceList) {
	for name, q := range src {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}

// validateLimitRange checks each item: a known, unique type, valid resource
// names, and consistent min <= defaultRequest <= default <= max values.
func validateLimitRange(obj runtime.Object) field.ErrorList {
	lr := obj.(*corev1.LimitRange)
	var errs field.ErrorList
	seen := map[corev1.LimitType]bool{}
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		p := field.NewPath("spec", "limits").Index(i)
		errs = append(errs, limitTypeErrs(item.Type, p.Child("type"))...)
		if seen[item.Type] {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		seen[item.Type] = true
		errs = append(errs, limitItemErrs(item, p)...)
	}
	return errs
}

func limitTypeErrs(t corev1.LimitType, p *field.Path) field.ErrorList {
	errs := qualifiedNameErrs(string(t), p)
	if len(errs) == 0 && !strings.Contains(string(t), "/") && !inValues(string(t), limitTypes) {
		errs = append(errs, field.Invalid(p, t, "must be a standard limit type or fully qualified"))
	}
	return errs
}

// limitNameErrs: Pod and Container items take container resources, other
// types any resource.
func limitNameErrs(t corev1.LimitType, name corev1.ResourceName, p *field.Path) field.ErrorList {
	if t == corev1.LimitTypePod || t == corev1.LimitTypeContainer {
		return containerResourceNameErrs(name, p)
	}
	return resourceNameErrs(name, p)
}

// limitItemErrs checks the names in each list of an item and the relations
// between its values.
func limitItemErrs(item *corev1.LimitRangeItem, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := map[corev1.ResourceName]bool{}
	check := func(list corev1.ResourceList, child string) {
		for name := range list {
			errs = append(errs, limitNameErrs(item.Type, name, p.Child(child).Key(string(name)))...)
			keys[name] = true
		}
	}
	check(item.Max, "max")
	check(item.Min, "min")
	if item.Type == corev1.LimitTypePod {
		if len(item.Default) > 0 {
			errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
		if len(item.DefaultRequest) > 0 {
			errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
		}
	} else {
		check(item.Default, "default")
		check(item.DefaultRequest, "defaultRequest")
	}
	if item.Type == corev1.LimitTypePersistentVolumeClaim {
		_, hasMin := item.Min[corev1.ResourceStorage]
		_, hasMax := item.Max[corev1.ResourceStorage]
		if !hasMin && !hasMax {
			errs = append(errs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
		}
	}
	check(item.MaxLimitRequestRatio, "maxLimitRequestRatio")
	for name := range keys {
		errs = append(errs, limitValueErrs(item, name, p)...)
	}
	return errs
}

// limitValueErrs checks the values one resource has across the lists.
func limitValueErrs(item *corev1.LimitRangeItem, name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := string(name)
	minQ, hasMin := item.Min[name]
	maxQ, hasMax := item.Max[name]
	def, hasDef := item.Default[name]
	defReq, hasDefReq := item.DefaultRequest[name]
	if item.Type == corev1.LimitTypePod {
		hasDef, hasDefReq = false, false
	}
	ratio, hasRatio := item.MaxLimitRequestRatio[name]
	bad := func(child string, v resource.Quantity, format string, a, b resource.Quantity) {
		errs = append(errs, field.Invalid(p.Child(child).Key(key), v, fmt.Sprintf(format, a.String(), b.String())))
	}
	if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
		bad("min", minQ, "min value %s is greater than max value %s", minQ, maxQ)
	}
	if hasDefReq && hasMin && minQ.Cmp(defReq) > 0 {
		bad("defaultRequest", defReq, "min value %s is greater than default request value %s", minQ, defReq)
	}
	if hasDefReq && hasMax && defReq.Cmp(maxQ) > 0 {
		bad("defaultRequest", defReq, "default request value %s is greater than max value %s", defReq, maxQ)
	}
	if hasDefReq && hasDef && defReq.Cmp(def) > 0 {
		bad("defaultRequest", defReq, "default request value %s is greater than default limit value %s", defReq, def)
	}
	if hasDef && hasMin && minQ.Cmp(def) > 0 {
		bad("default", minQ, "min value %s is greater than default value %s", minQ, def)
	}
	if hasDef && hasMax && def.Cmp(maxQ) > 0 {
		bad("default", maxQ, "default value %s is greater than max value %s", def, maxQ)
	}
	if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if hasRatio && hasMin && hasMax {
		errs = append(errs, limitRatioErrs(ratio, minQ, maxQ, p.Child("maxLimitRequestRatio").Key(key))...)
	}
	if !rnOvercommitAllowed(name) && hasDef && hasDefReq && def.Cmp(defReq) != 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), defReq,
			fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), defReq.String(), key)))
	}
	return errs
}

// limitRatioErrs: the ratio cannot exceed max/min.
func limitRatioErrs(ratio, minQ, maxQ resource.Quantity, p *field.Path) field.ErrorList {
	r, lo, hi := float64(ratio.Value()), minQ.Value(), maxQ.Value()
	if ratio.Value() < resource.MaxMilliValue && lo < resource.MaxMilliValue && hi < resource.MaxMilliValue {
		r = float64(ratio.MilliValue()) / 1000
		lo, hi = minQ.MilliValue(), maxQ.MilliValue()
	}
	limit := float64(hi) / float64(lo)
	if r > limit {
		return field.ErrorList{field.Invalid(p, ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limit))}
	}
	return nil
}

// limitRangeTable is the table Kubernetes uses for resources without
// columns of their own: NAME and CREATED AT.
var limitRangeTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	},
	Row: func(obj runtime.Object) []interface{} {
		lr := obj.(*corev1.LimitRange)
		return []interface{}{lr.Name, lr.CreationTimestamp.UTC().Format(time.RFC3339)}
	},
}
