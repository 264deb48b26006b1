package apps

import (
	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

var replicaSetStrategy = registry.Strategy{
	Default:  func(obj runtime.Object) { defaultReplicaSet(obj.(*appsv1.ReplicaSet)) },
	Validate: func(obj runtime.Object) field.ErrorList { return validateReplicaSet(obj.(*appsv1.ReplicaSet)) },
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return apivalidation.ValidateImmutableField(obj.(*appsv1.ReplicaSet).Spec.Selector,
			old.(*appsv1.ReplicaSet).Spec.Selector, field.NewPath("spec", "selector"))
	},
	ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
		return validateReplicaSetStatus(&obj.(*appsv1.ReplicaSet).Status, field.NewPath("status"))
	},
}

func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = newInt32(1)
	}
	core.DefaultPodTemplateSpec(&rs.Spec.Template)
}

func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	spec, p := &rs.Spec, field.NewPath("spec")
	errs := nonNegative(int64(replicas(spec.Replicas)), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	// Kubernetes names the wrong kind in this message; kubectl users see it.
	errs = append(errs, validateControllerSelector(spec.Selector, "deployment", p.Child("selector"))...)
	return append(errs, validateReplicatedTemplate(&spec.Template, spec.Selector, "ReplicaSet", p)...)
}

func validateReplicaSetStatus(s *appsv1.ReplicaSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.FullyLabeledReplicas), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegativePtr(s.TerminatingReplicas, p.Child("terminatingReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.FullyLabeledReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, cannotExceedReplicas))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, cannotExceedReplicas))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, cannotExceedReplicas))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

var replicaSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Desired", "integer", 0, appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
		registry.Column("Current", "integer", 0, appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
		registry.Column("Ready", "integer", 0, appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
		registry.Column("Selector", "string", 1, appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		rs := obj.(*appsv1.ReplicaSet)
		names, images := containerCells(&rs.Spec.Template)
		return []interface{}{
			rs.Name,
			int64(replicas(rs.Spec.Replicas)),
			int64(rs.Status.Replicas),
			int64(rs.Status.ReadyReplicas),
			registry.Age(rs.CreationTimestamp),
			names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
		}
	},
}
