package core

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/registry"
)

// The ReplicationController resource.

var rcStrategy = registry.Strategy{
	Default: func(obj runtime.Object) { defaultReplicationController(obj.(*corev1.ReplicationController)) },
	Validate: func(obj runtime.Object) field.ErrorList {
		return validateReplicationController(obj.(*corev1.ReplicationController))
	},
	ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
		return validateReplicationControllerStatus(&obj.(*corev1.ReplicationController).Status, field.NewPath("status"))
	},
}

// defaultReplicationController: the selector and the controller's labels
// default to the template's labels, replicas to 1.
func defaultReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = t.Labels
		}
		if len(rc.Labels) == 0 {
			rc.Labels = t.Labels
		}
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptr.To[int32](1)
	}
	DefaultPodTemplateSpec(rc.Spec.Template)
}

func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	spec, fldPath := &rc.Spec, field.NewPath("spec")
	errs := apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	if labels.Set(spec.Selector).AsSelector().Empty() {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	}
	if spec.Replicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), fldPath.Child("replicas"))...)
	}
	return append(errs, validateRCTemplate(spec.Template, spec.Selector, fldPath.Child("template"))...)
}

// validateRCTemplate: the template must carry the selector's labels and
// describe pods that always restart.
func validateRCTemplate(t *corev1.PodTemplateSpec, selector map[string]string, fldPath *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	if sel := labels.Set(selector).AsSelector(); !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidatePodTemplateSpec(t, fldPath)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

func validateReplicationControllerStatus(s *corev1.ReplicationControllerStatus, fldPath *field.Path) field.ErrorList {
	nonNeg := apivalidation.ValidateNonnegativeField
	errs := nonNeg(int64(s.Replicas), fldPath.Child("replicas"))
	errs = append(errs, nonNeg(int64(s.FullyLabeledReplicas), fldPath.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNeg(int64(s.ReadyReplicas), fldPath.Child("readyReplicas"))...)
	errs = append(errs, nonNeg(int64(s.AvailableReplicas), fldPath.Child("availableReplicas"))...)
	errs = append(errs, nonNeg(s.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	const moreThanReplicas = "cannot be greater than status.replicas"
	if s.FullyLabeledReplicas > s.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, moreThanReplicas))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("readyReplicas"), s.ReadyReplicas, moreThanReplicas))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), s.AvailableReplicas, moreThanReplicas))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

var rcTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Desired", "integer", 0, corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
		registry.Column("Current", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
		registry.Column("Ready", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, "Names of each container in the template."),
		registry.Column("Images", "string", 1, "Images referenced by each container in the template."),
		registry.Column("Selector", "string", 1, corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		rc := obj.(*corev1.ReplicationController)
		desired := int64(1)
		if rc.Spec.Replicas != nil {
			desired = int64(*rc.Spec.Replicas)
		}
		var containers []corev1.Container
		if rc.Spec.Template != nil {
			containers = rc.Spec.Template.Spec.Containers
		}
		names, images := podContainerCells(containers)
		return []interface{}{
			rc.Name, desired, int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), registry.Age(rc.CreationTimestamp),
			names, images, labels.FormatLabels(rc.Spec.Selector),
		}
	},
}
