package autoscaling

import (
	"fmt"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Both versions print the same columns; v1 objects are converted first.
var hpaColumns = []metav1.TableColumnDefinition{
	registry.NameColumn,
	registry.Column("Reference", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]),
	registry.Column("Targets", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"]),
	registry.Column("MinPods", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"]),
	registry.Column("MaxPods", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"]),
	registry.Column("Replicas", "string", 0, autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
	registry.AgeColumn,
}

var hpaV2Table = &registry.Table{
	Columns: hpaColumns,
	Row:     func(obj runtime.Object) []interface{} { return hpaRow(obj.(*autoscalingv2.HorizontalPodAutoscaler)) },
}

var hpaV1Table = &registry.Table{
	Columns: hpaColumns,
	Row: func(obj runtime.Object) []interface{} {
		return hpaRow(v1ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)))
	},
}

func hpaRow(h *autoscalingv2.HorizontalPodAutoscaler) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	return []interface{}{
		h.Name,
		h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		formatTargets(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods,
		int64(h.Spec.MaxReplicas),
		int64(h.Status.CurrentReplicas),
		registry.Age(h.CreationTimestamp),
	}
}

// formatTargets prints up to two metrics as current/target, the i-th
// status being the current value of the i-th metric.
func formatTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const shown = 2
	var list []string
	for i := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		list = append(list, formatTarget(&specs[i], st))
	}
	if len(list) > shown {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:shown], ", "), len(list)-shown)
	}
	return strings.Join(list, ", ")
}

func quantity(q *resource.Quantity) string {
	if q == nil {
		return "<unknown>"
	}
	return q.String()
}

func percent(p *int32) string {
	if p == nil {
		return "<unknown>"
	}
	return fmt.Sprintf("%d%%", *p)
}

func formatTarget(m *autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	var cur autoscalingv2.MetricValueStatus
	switch {
	case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
		if st != nil && st.External != nil {
			cur = st.External.Current
		}
		return valueTarget(m.External.Target, cur)
	case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
		if st != nil && st.Pods != nil {
			cur = st.Pods.Current
		}
		return quantity(cur.AverageValue) + "/" + quantity(m.Pods.Target.AverageValue)
	case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
		if st != nil && st.Object != nil {
			cur = st.Object.Current
		}
		return valueTarget(m.Object.Target, cur)
	case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
		if st != nil && st.Resource != nil {
			cur = st.Resource.Current
		}
		return string(m.Resource.Name) + ": " + resourceTarget(m.Resource.Target, cur)
	case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
		if st != nil && st.ContainerResource != nil {
			cur = st.ContainerResource.Current
		}
		return string(m.ContainerResource.Name) + ": " + resourceTarget(m.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

// valueTarget prints an object or external target: an average per pod, or
// the total value.
func valueTarget(t autoscalingv2.MetricTarget, cur autoscalingv2.MetricValueStatus) string {
	if t.AverageValue != nil {
		return quantity(cur.AverageValue) + "/" + t.AverageValue.String() + " (avg)"
	}
	return quantity(cur.Value) + "/" + quantity(t.Value)
}

// resourceTarget prints a resource target as an average value or a
// utilization ("10%/80%").
func resourceTarget(t autoscalingv2.MetricTarget, cur autoscalingv2.MetricValueStatus) string {
	if t.AverageValue != nil {
		return quantity(cur.AverageValue) + "/" + t.AverageValue.String()
	}
	target := "<auto>"
	if t.AverageUtilization != nil {
		target = percent(t.AverageUtilization)
	}
	return percent(cur.AverageUtilization) + "/" + target
}
