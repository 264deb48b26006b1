package autoscaling

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// hpaV1Strategy works on autoscaling/v1 objects. Validation converts to v2
// and applies the v2 rules, so errors name the same fields as Kubernetes
// reports for v1 requests (spec.metrics[0].resource.target...).
var hpaV1Strategy = registry.Strategy{
	Default: func(obj runtime.Object) { defaultHPAV1(obj.(*autoscalingv1.HorizontalPodAutoscaler)) },
	PrepareForCreate: func(obj runtime.Object) {
		h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
		h.Annotations = keepStatusAnnotations(h.Annotations, nil)
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		h, o := obj.(*autoscalingv1.HorizontalPodAutoscaler), old.(*autoscalingv1.HorizontalPodAutoscaler)
		h.Annotations = keepStatusAnnotations(h.Annotations, o.Annotations)
	},
	Validate: func(obj runtime.Object) field.ErrorList {
		h := v1ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler))
		return validateHPASpec(&h.Spec, field.NewPath("spec"))
	},
	ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
		return validateHPAStatus(&v1ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)).Status)
	},
}

// defaultHPAV1 applies the autoscaling/v1 defaults. Kubernetes targets 80%
// CPU, when the object names no metric at all, while converting; here it
// is a default so that conversions stay pure.
func defaultHPAV1(h *autoscalingv1.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		one := int32(1)
		h.Spec.MinReplicas = &one
	}
	if h.Spec.TargetCPUUtilizationPercentage == nil && len(annotationMetrics(h.Annotations)) == 0 {
		cpu := int32(defaultCPUUtilization)
		h.Spec.TargetCPUUtilizationPercentage = &cpu
	}
}

// keepStatusAnnotations gives the status-carrying annotations (current
// metrics, conditions) the values of the stored object: they are status,
// which a write of the main resource does not change.
func keepStatusAnnotations(annotations, stored map[string]string) map[string]string {
	out := make(map[string]string, len(annotations))
	for k, v := range annotations {
		if k != currentMetricsAnnotation && k != conditionsAnnotation {
			out[k] = v
		}
	}
	for _, k := range []string{currentMetricsAnnotation, conditionsAnnotation} {
		if v, ok := stored[k]; ok {
			out[k] = v
		}
	}
	if len(out) == 0 && annotations == nil {
		return nil
	}
	return out
}
