package apps

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

var deploymentStrategy = registry.Strategy{
	Default:          func(obj runtime.Object) { defaultDeployment(obj.(*appsv1.Deployment)) },
	PrepareForUpdate: prepareDeploymentUpdate,
	Validate:         func(obj runtime.Object) field.ErrorList { return validateDeployment(obj.(*appsv1.Deployment)) },
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return apivalidation.ValidateImmutableField(obj.(*appsv1.Deployment).Spec.Selector,
			old.(*appsv1.Deployment).Spec.Selector, field.NewPath("spec", "selector"))
	},
	ValidateStatus: func(obj, old runtime.Object) field.ErrorList {
		d, o := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
		errs := validateDeploymentStatus(&d.Status, field.NewPath("status"))
		return append(errs, decrementedCollisionCount(d.Status.CollisionCount, o.Status.CollisionCount)...)
	},
}

// defaultDeployment applies the apps/v1 Deployment defaults.
func defaultDeployment(d *appsv1.Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = newInt32(1)
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			ru.MaxUnavailable = &v
		}
		if ru.MaxSurge == nil {
			v := intstr.FromString("25%")
			ru.MaxSurge = &v
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = newInt32(10)
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = newInt32(600)
	}
	core.DefaultPodTemplateSpec(&spec.Template)
}

// prepareDeploymentUpdate bumps the generation when only the annotations
// change: they are copied onto the ReplicaSets, so the controller has work
// to do. Spec changes are counted by the framework.
func prepareDeploymentUpdate(obj, old runtime.Object) {
	d, o := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	if apiequality.Semantic.DeepEqual(d.Spec, o.Spec) && !apiequality.Semantic.DeepEqual(d.Annotations, o.Annotations) {
		d.Generation = o.Generation + 1
	}
}

func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec, p := &d.Spec, field.NewPath("spec")
	errs := nonNegative(int64(replicas(spec.Replicas)), p.Child("replicas"))
	errs = append(errs, validateControllerSelector(spec.Selector, "deployment", p.Child("selector"))...)
	errs = append(errs, validateReplicatedTemplate(&spec.Template, spec.Selector, "ReplicaSet", p)...)
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegativePtr(spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"))...)
	errs = append(errs, validateRollbackAnnotation(d.Annotations, p)...)
	if pds := spec.ProgressDeadlineSeconds; pds != nil {
		errs = append(errs, nonNegative(int64(*pds), p.Child("progressDeadlineSeconds"))...)
		if *pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"),
				"may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdateDeployment(s.RollingUpdate, p.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(p, s, []string{
			string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
}

func validateRollingUpdateDeployment(ru *appsv1.RollingUpdateDeployment, p *field.Path) field.ErrorList {
	unavailable, surge := intOrZero(ru.MaxUnavailable), intOrZero(ru.MaxSurge)
	errs := ValidateIntOrPercent(unavailable, p.Child("maxUnavailable"))
	errs = append(errs, ValidateIntOrPercent(surge, p.Child("maxSurge"))...)
	if intOrPercentValue(&unavailable) == 0 && intOrPercentValue(&surge) == 0 {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, ValidateAtMost100Percent(unavailable, p.Child("maxUnavailable"))...)
}

// validateRollbackAnnotation checks the deprecated rollback request, which
// apps/v1 carries in an annotation (spec.rollbackTo in the old groups).
func validateRollbackAnnotation(annotations map[string]string, spec *field.Path) field.ErrorList {
	v, ok := annotations[appsv1.DeprecatedRollbackTo]
	if !ok || v == "" {
		return nil
	}
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "annotations").Key(appsv1.DeprecatedRollbackTo), v,
			fmt.Sprintf("failed to parse as int64: %v", err))}
	}
	return nonNegative(rev, spec.Child("rollback", "version"))
}

func validateDeploymentStatus(s *appsv1.DeploymentStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	errs = append(errs, nonNegativePtr(s.TerminatingReplicas, p.Child("terminatingReplicas"))...)
	errs = append(errs, nonNegativePtr(s.CollisionCount, p.Child("collisionCount"))...)
	if s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, cannotExceedReplicas))
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

var deploymentTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Ready", "string", 0, "Number of the pod with ready state"),
		registry.Column("Up-to-date", "string", 0, appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
		registry.Column("Available", "string", 0, appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
		registry.Column("Selector", "string", 1, appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		d := obj.(*appsv1.Deployment)
		selector := "<invalid>"
		if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			selector = sel.String()
		}
		names, images := containerCells(&d.Spec.Template)
		return []interface{}{
			d.Name,
			fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)),
			int64(d.Status.UpdatedReplicas),
			int64(d.Status.AvailableReplicas),
			registry.Age(d.CreationTimestamp),
			names, images, selector,
		}
	},
}
