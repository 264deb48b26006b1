package apps

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

// apps/v1 has no spec.templateGeneration; the DaemonSet carries it in the
// deprecated.daemonset.template.generation annotation, which the server
// starts at 1 and bumps on every template change.

var daemonSetStrategy = registry.Strategy{
	Default:          func(obj runtime.Object) { defaultDaemonSet(obj.(*appsv1.DaemonSet)) },
	PrepareForCreate: func(obj runtime.Object) { prepareDaemonSetCreate(obj.(*appsv1.DaemonSet)) },
	PrepareForUpdate: func(obj, old runtime.Object) {
		prepareDaemonSetUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
	},
	Validate:       func(obj runtime.Object) field.ErrorList { return validateDaemonSet(obj.(*appsv1.DaemonSet)) },
	ValidateUpdate: validateDaemonSetUpdate,
	ValidateStatus: func(obj, old runtime.Object) field.ErrorList {
		d, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
		errs := validateDaemonSetStatus(&d.Status, field.NewPath("status"))
		return append(errs, decrementedCollisionCount(d.Status.CollisionCount, o.Status.CollisionCount)...)
	},
}

func defaultDaemonSet(d *appsv1.DaemonSet) {
	us := &d.Spec.UpdateStrategy
	if us.Type == "" {
		us.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if us.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if us.RollingUpdate == nil {
			us.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if us.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromInt32(1)
			us.RollingUpdate.MaxUnavailable = &v
		}
		if us.RollingUpdate.MaxSurge == nil {
			v := intstr.FromInt32(0)
			us.RollingUpdate.MaxSurge = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = newInt32(10)
	}
	core.DefaultPodTemplateSpec(&d.Spec.Template)
}

// templateGeneration reads the annotation; absent or unreadable is 0.
func templateGeneration(d *appsv1.DaemonSet) int64 {
	n, _ := strconv.ParseInt(d.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	return n
}

func setTemplateGeneration(d *appsv1.DaemonSet, n int64) {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(n, 10)
}

func prepareDaemonSetCreate(d *appsv1.DaemonSet) {
	if _, ok := d.Annotations[appsv1.DeprecatedTemplateGeneration]; !ok || templateGeneration(d) < 1 {
		setTemplateGeneration(d, 1)
	}
}

// prepareDaemonSetUpdate bumps the template generation when the template
// changes; a client that drops the annotation keeps the stored one.
func prepareDaemonSetUpdate(d, old *appsv1.DaemonSet) {
	if !apiequality.Semantic.DeepEqual(d.Spec.Template, old.Spec.Template) {
		setTemplateGeneration(d, templateGeneration(old)+1)
		return
	}
	if v, ok := old.Annotations[appsv1.DeprecatedTemplateGeneration]; ok {
		if _, has := d.Annotations[appsv1.DeprecatedTemplateGeneration]; !has {
			if d.Annotations == nil {
				d.Annotations = map[string]string{}
			}
			d.Annotations[appsv1.DeprecatedTemplateGeneration] = v
		}
	}
}

func validateDaemonSet(d *appsv1.DaemonSet) field.ErrorList {
	spec, p := &d.Spec, field.NewPath("spec")
	var errs field.ErrorList
	if spec.Selector != nil {
		// A missing selector only shows as a template mismatch below.
		errs = validateControllerSelector(spec.Selector, "daemonset", p.Child("selector"))
	}
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), spec.Template.Labels, templateMismatch))
	}
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)
	errs = append(errs, alwaysRestartNoDeadline(&spec.Template, "DaemonSet", p.Child("template"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, validateTemplateGenerationAnnotation(d.Annotations, p)...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, p.Child("updateStrategy"))...)
	return append(errs, nonNegativePtr(spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
}

func validateTemplateGenerationAnnotation(annotations map[string]string, spec *field.Path) field.ErrorList {
	v, ok := annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "annotations").Key(appsv1.DeprecatedTemplateGeneration),
			v, "must be an integer")}
	}
	return nonNegative(n, spec.Child("templateGeneration"))
}

func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(s.RollingUpdate, p.Child("rollingUpdate"))
	}
	return field.ErrorList{field.NotSupported(p, s, []string{
		string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
}

// validateRollingUpdateDaemonSet requires exactly one of maxUnavailable and
// maxSurge to be non-zero.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, p *field.Path) field.ErrorList {
	unavailable, surge := intOrZero(ru.MaxUnavailable), intOrZero(ru.MaxSurge)
	up, sp := p.Child("maxUnavailable"), p.Child("maxSurge")
	errs := ValidateIntOrPercent(unavailable, up)
	errs = append(errs, ValidateIntOrPercent(surge, sp)...)
	errs = append(errs, ValidateAtMost100Percent(unavailable, up)...)
	errs = append(errs, ValidateAtMost100Percent(surge, sp)...)
	hasUnavailable, hasSurge := intOrPercentValue(&unavailable) != 0, intOrPercentValue(&surge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(sp, surge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(up, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

// validateDaemonSetUpdate keeps the selector and checks the template
// generation moves with the template.
func validateDaemonSetUpdate(obj, old runtime.Object) field.ErrorList {
	d, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	spec := field.NewPath("spec")
	errs := apivalidation.ValidateImmutableField(d.Spec.Selector, o.Spec.Selector, spec.Child("selector"))
	gen, oldGen := templateGeneration(d), templateGeneration(o)
	gp := spec.Child("templateGeneration")
	changed := !apiequality.Semantic.DeepEqual(d.Spec.Template, o.Spec.Template)
	switch {
	case gen < oldGen:
		errs = append(errs, field.Invalid(gp, gen, "must not be decremented"))
	case gen == oldGen && changed:
		errs = append(errs, field.Invalid(gp, gen, "must be incremented upon template update"))
	case gen > oldGen && !changed:
		errs = append(errs, field.Invalid(gp, gen, "must not be incremented without template update"))
	}
	return errs
}

func validateDaemonSetStatus(s *appsv1.DaemonSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.CurrentNumberScheduled), p.Child("currentNumberScheduled"))
	errs = append(errs, nonNegative(int64(s.NumberMisscheduled), p.Child("numberMisscheduled"))...)
	errs = append(errs, nonNegative(int64(s.DesiredNumberScheduled), p.Child("desiredNumberScheduled"))...)
	errs = append(errs, nonNegative(int64(s.NumberReady), p.Child("numberReady"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedNumberScheduled), p.Child("updatedNumberScheduled"))...)
	errs = append(errs, nonNegative(int64(s.NumberAvailable), p.Child("numberAvailable"))...)
	errs = append(errs, nonNegative(int64(s.NumberUnavailable), p.Child("numberUnavailable"))...)
	return append(errs, nonNegativePtr(s.CollisionCount, p.Child("collisionCount"))...)
}

var daemonSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Desired", "integer", 0, appsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
		registry.Column("Current", "integer", 0, appsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
		registry.Column("Ready", "integer", 0, appsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
		registry.Column("Up-to-date", "integer", 0, appsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
		registry.Column("Available", "integer", 0, appsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
		registry.Column("Node Selector", "string", 0, corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
		registry.Column("Selector", "string", 1, appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		d := obj.(*appsv1.DaemonSet)
		st := d.Status
		names, images := containerCells(&d.Spec.Template)
		return []interface{}{
			d.Name,
			int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
			int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable),
			labels.FormatLabels(d.Spec.Template.Spec.NodeSelector),
			registry.Age(d.CreationTimestamp),
			names, images, metav1.FormatLabelSelector(d.Spec.Selector),
		}
	},
}
