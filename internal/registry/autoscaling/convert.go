package autoscaling

import (
	"encoding/json"
	"fmt"
	"maps"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// autoscaling/v1 only has a CPU utilization target. Like Kubernetes, the v1
// view carries every other v2 field in annotations (in the format of the
// alpha metric types of autoscaling/v1), so a v2 object survives a read,
// modify, write cycle through v1. Converting back drops the annotations.
// Conversions are pure: no defaulting, inputs are not modified.
const (
	metricsAnnotation        = "autoscaling.alpha.kubernetes.io/metrics"
	currentMetricsAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	conditionsAnnotation     = "autoscaling.alpha.kubernetes.io/conditions"
	behaviorAnnotation       = "autoscaling.alpha.kubernetes.io/behavior"
)

var roundTripAnnotations = []string{metricsAnnotation, currentMetricsAnnotation, conditionsAnnotation, behaviorAnnotation}

// dropRoundTripAnnotations returns the annotations without the round-trip
// ones (a copy when any is present; nil when none is left).
func dropRoundTripAnnotations(in map[string]string) map[string]string {
	found := false
	for _, k := range roundTripAnnotations {
		_, ok := in[k]
		found = found || ok
	}
	if !found {
		return in
	}
	out := maps.Clone(in)
	for _, k := range roundTripAnnotations {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hpaV1ToV2 converts an autoscaling/v1 HPA to the stored autoscaling/v2
// form.
func hpaV1ToV2(obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("expected an autoscaling/v1 HorizontalPodAutoscaler, got %T", obj)
	}
	return v1ToV2(in), nil
}

// hpaV2ToV1 converts a stored autoscaling/v2 HPA to its autoscaling/v1 view.
func hpaV2ToV1(obj runtime.Object) (runtime.Object, error) {
	in, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("expected an autoscaling/v2 HorizontalPodAutoscaler, got %T", obj)
	}
	return v2ToV1(in)
}

func v1ToV2(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	in = in.DeepCopy()
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling/v2"),
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	// Unreadable annotations are ignored, as Kubernetes does.
	for _, m := range annotationMetrics(in.Annotations) {
		out.Spec.Metrics = append(out.Spec.Metrics, metricFromAlpha(m))
	}
	if in.Spec.TargetCPUUtilizationPercentage != nil {
		out.Spec.Metrics = append(out.Spec.Metrics, cpuUtilizationMetric(*in.Spec.TargetCPUUtilizationPercentage))
	}
	var b behaviorJSON
	if err := json.Unmarshal([]byte(in.Annotations[behaviorAnnotation]), &b); err == nil && (b.ScaleUp != nil || b.ScaleDown != nil) {
		out.Spec.Behavior = b.toV2()
	}
	if in.Status.CurrentCPUUtilizationPercentage != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: in.Status.CurrentCPUUtilizationPercentage}},
		}}
	}
	var current []autoscalingv1.MetricStatus
	if err := json.Unmarshal([]byte(in.Annotations[currentMetricsAnnotation]), &current); err == nil {
		out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, 0, len(current))
		for _, m := range current {
			out.Status.CurrentMetrics = append(out.Status.CurrentMetrics, metricStatusFromAlpha(m))
		}
	}
	var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
	if err := json.Unmarshal([]byte(in.Annotations[conditionsAnnotation]), &conditions); err == nil {
		out.Status.Conditions = make([]autoscalingv2.HorizontalPodAutoscalerCondition, 0, len(conditions))
		for _, c := range conditions {
			out.Status.Conditions = append(out.Status.Conditions, autoscalingv2.HorizontalPodAutoscalerCondition{
				Type: autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
				ObservedGeneration: c.ObservedGeneration,
			})
		}
	}
	out.Annotations = dropRoundTripAnnotations(out.Annotations)
	return out
}

// annotationMetrics reads the metrics annotation; nil when absent or
// unreadable.
func annotationMetrics(annotations map[string]string) []autoscalingv1.MetricSpec {
	var metrics []autoscalingv1.MetricSpec
	if err := json.Unmarshal([]byte(annotations[metricsAnnotation]), &metrics); err != nil {
		return nil
	}
	return metrics
}

func typeMeta(apiVersion string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: "HorizontalPodAutoscaler"}
}

// isCPUUtilization tells the metric v1 shows as its CPU target.
func isCPUUtilization(m *autoscalingv2.MetricSpec) bool {
	return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
		m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil
}

func v2ToV1(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error) {
	in = in.DeepCopy()
	out := &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling/v1"),
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	var other []autoscalingv1.MetricSpec
	for i := range in.Spec.Metrics {
		m := &in.Spec.Metrics[i]
		if out.Spec.TargetCPUUtilizationPercentage == nil && isCPUUtilization(m) {
			out.Spec.TargetCPUUtilizationPercentage = m.Resource.Target.AverageUtilization
			continue
		}
		other = append(other, metricToAlpha(m))
	}
	statuses := make([]autoscalingv1.MetricStatus, 0, len(in.Status.CurrentMetrics))
	for i := range in.Status.CurrentMetrics {
		m := &in.Status.CurrentMetrics[i]
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = m.Resource.Current.AverageUtilization
		}
		statuses = append(statuses, metricStatusToAlpha(m))
	}
	conditions := make([]autoscalingv1.HorizontalPodAutoscalerCondition, 0, len(in.Status.Conditions))
	for _, c := range in.Status.Conditions {
		conditions = append(conditions, autoscalingv1.HorizontalPodAutoscalerCondition{
			Type: autoscalingv1.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
			ObservedGeneration: c.ObservedGeneration,
		})
	}
	annotations, err := roundTripAnnotationsFor(other, statuses, conditions, in.Spec.Behavior)
	if err != nil {
		return nil, err
	}
	out.Annotations = dropRoundTripAnnotations(out.Annotations)
	if len(annotations) > 0 {
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		maps.Copy(out.Annotations, annotations)
	}
	return out, nil
}

// roundTripAnnotationsFor encodes what v1 cannot hold.
func roundTripAnnotationsFor(other []autoscalingv1.MetricSpec, statuses []autoscalingv1.MetricStatus,
	conditions []autoscalingv1.HorizontalPodAutoscalerCondition, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior,
) (map[string]string, error) {
	annotations := map[string]string{}
	for _, a := range []struct {
		key  string
		set  bool
		data interface{}
	}{
		{metricsAnnotation, len(other) > 0, other},
		{currentMetricsAnnotation, len(statuses) > 0, statuses},
		{conditionsAnnotation, len(conditions) > 0, conditions},
		{behaviorAnnotation, behavior != nil, behaviorFromV2(behavior)},
	} {
		if !a.set {
			continue
		}
		enc, err := json.Marshal(a.data)
		if err != nil {
			return nil, err
		}
		annotations[a.key] = string(enc)
	}
	return annotations, nil
}
