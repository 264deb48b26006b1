package apps

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry/core"
)

// Rules shared by the workload controllers of this group.

const (
	templateMismatch     = "`selector` does not match template `labels`"
	cannotExceedReplicas = "cannot be greater than status.replicas"
)

// Column descriptions shared by the workload tables.
const (
	containersDescription = "Names of each container in the template."
	imagesDescription     = "Images referenced by each container in the template."
)

// nonNegative reports a negative value as Kubernetes does.
func nonNegative(v int64, p *field.Path) field.ErrorList {
	return apivalidation.ValidateNonnegativeField(v, p)
}

// nonNegativePtr checks an optional value.
func nonNegativePtr(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return nonNegative(int64(*v), p)
}

// validateControllerSelector checks that a workload selector is present,
// well formed and not empty. what names the resource in the message
// ("deployment", "statefulset", ...).
func validateControllerSelector(sel *metav1.LabelSelector, what string, p *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	opts := metavalidation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: false}
	errs := metavalidation.ValidateLabelSelector(sel, opts, p)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p, sel, "empty selector is invalid for "+what))
	}
	return errs
}

// selectorMatchesTemplate reports a template whose labels the (parsed)
// selector does not select.
func selectorMatchesTemplate(sel labels.Selector, t *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	if sel.Empty() || sel.Matches(labels.Set(t.Labels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(p.Child("metadata", "labels"), t.Labels, templateMismatch)}
}

// validateReplicatedTemplate checks the template of a ReplicaSet-like
// controller (ReplicaSet, Deployment): it must match the selector, be a valid
// pod template, restart always and have no active deadline. kind names the
// resource in the deadline message.
func validateReplicatedTemplate(t *corev1.PodTemplateSpec, sel *metav1.LabelSelector, kind string, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	parsed, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(spec.Child("selector"), sel, "invalid label selector")}
	}
	tp := spec.Child("template")
	errs = append(errs, selectorMatchesTemplate(parsed, t, tp)...)
	errs = append(errs, core.ValidatePodTemplateSpec(t, tp)...)
	errs = append(errs, alwaysRestartNoDeadline(t, kind, tp)...)
	return errs
}

// alwaysRestartNoDeadline enforces restartPolicy Always and forbids
// activeDeadlineSeconds, as every long-running controller does.
func alwaysRestartNoDeadline(t *corev1.PodTemplateSpec, kind string, tp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), t.Spec.RestartPolicy,
			[]string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"),
			"activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// ValidateIntOrPercent checks that v is a non-negative integer or a valid
// percentage ("25%"). Shared with policy (PodDisruptionBudgets).
func ValidateIntOrPercent(v intstr.IntOrString, p *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range utilvalidation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
		return errs
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), p)
	default:
		return field.ErrorList{field.Invalid(p, v, "must be an integer or percentage (e.g '5%%')")}
	}
}

// percentOf returns the number in a valid percentage string.
func percentOf(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(utilvalidation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	return n, err == nil
}

// intOrPercentValue is the number in an int or a percentage; nil is zero.
func intOrPercentValue(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	if n, ok := percentOf(*v); ok {
		return n
	}
	return v.IntValue()
}

// ValidateAtMost100Percent rejects percentages above 100%. Shared with
// policy.
func ValidateAtMost100Percent(v intstr.IntOrString, p *field.Path) field.ErrorList {
	if n, ok := percentOf(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
	}
	return nil
}

// intOrZero dereferences an optional intOrString (nil is the integer 0, as
// the internal Kubernetes types see it).
func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

// containerCells lays out the container names and images of a template as
// the wide columns show them.
func containerCells(t *corev1.PodTemplateSpec) (string, string) {
	names := make([]string, 0, len(t.Spec.Containers))
	images := make([]string, 0, len(t.Spec.Containers))
	for _, c := range t.Spec.Containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

// decrementedCollisionCount reports a status.collisionCount that went down.
func decrementedCollisionCount(cur, old *int32) field.ErrorList {
	if old == nil || (cur != nil && *cur >= *old) {
		return nil
	}
	v := int32(0)
	if cur != nil {
		v = *cur
	}
	return field.ErrorList{field.Invalid(field.NewPath("status", "collisionCount"), v, "cannot be decremented")}
}

// newInt32 returns a pointer to v.
func newInt32(v int32) *int32 { return &v }
