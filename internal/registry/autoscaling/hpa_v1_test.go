package autoscaling

import (
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func validHPAV1() *autoscalingv1.HorizontalPodAutoscaler {
	h := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
			CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute))},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
		},
	}
	hpaV1Strategy.Default(h)
	return h
}

func TestHPAV1Defaults(t *testing.T) {
	h := validHPAV1()
	if *h.Spec.MinReplicas != 1 || *h.Spec.TargetCPUUtilizationPercentage != 80 {
		t.Errorf("spec %+v", h.Spec)
	}
	// Other metrics in the annotation mean no CPU default.
	o := &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		metricsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`}}}
	hpaV1Strategy.Default(o)
	if o.Spec.TargetCPUUtilizationPercentage != nil {
		t.Errorf("CPU target %d next to other metrics", *o.Spec.TargetCPUUtilizationPercentage)
	}
	o.Annotations[metricsAnnotation] = "garbage"
	hpaV1Strategy.Default(o)
	if o.Spec.TargetCPUUtilizationPercentage == nil {
		t.Error("an unreadable annotation counts as no metrics")
	}
}

func TestHPAV1Validate(t *testing.T) {
	registrytest.ExpectValid(t, hpaV1Strategy.Validate(validHPAV1()))
	cases := []struct {
		name   string
		mutate func(*autoscalingv1.HorizontalPodAutoscaler)
		want   registrytest.Want
	}{
		{"no kind", func(h *autoscalingv1.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" },
			registrytest.Required("spec.scaleTargetRef.kind", "")},
		{"zero min", func(h *autoscalingv1.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(0) },
			registrytest.Invalid("spec.minReplicas", "")},
		{"max below min", func(h *autoscalingv1.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(20) },
			registrytest.Invalid("spec.maxReplicas", "must be greater than or equal to `minReplicas`")},
		{"zero cpu", func(h *autoscalingv1.HorizontalPodAutoscaler) { h.Spec.TargetCPUUtilizationPercentage = i32(0) },
			registrytest.Invalid("spec.metrics[0].resource.target.averageUtilization", "must be greater than 0")},
		{"annotated metric", func(h *autoscalingv1.HorizontalPodAutoscaler) {
			h.Annotations = map[string]string{metricsAnnotation: `[{"type":"Pods","pods":{"targetAverageValue":"10"}}]`}
		}, registrytest.Required("spec.metrics[0].pods.metric.name", "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := validHPAV1()
			c.mutate(h)
			registrytest.ExpectContains(t, hpaV1Strategy.Validate(h), c.want)
		})
	}
	h := validHPAV1()
	h.Status.CurrentReplicas = -1
	registrytest.ExpectContains(t, hpaV1Strategy.ValidateStatus(h, h), registrytest.Invalid("status.currentReplicas", ""))
}

func TestHPAV1StatusAnnotations(t *testing.T) {
	h := validHPAV1()
	h.Annotations = map[string]string{currentMetricsAnnotation: "[]", conditionsAnnotation: "[]", metricsAnnotation: "[]"}
	hpaV1Strategy.PrepareForCreate(h)
	if len(h.Annotations) != 1 || h.Annotations[metricsAnnotation] != "[]" {
		t.Errorf("created with annotations %v", h.Annotations)
	}

	old := validHPAV1()
	old.Annotations = map[string]string{conditionsAnnotation: `[{"type":"AbleToScale","status":"True"}]`}
	upd := old.DeepCopy()
	upd.Annotations = map[string]string{currentMetricsAnnotation: "[]", "team": "b"}
	hpaV1Strategy.PrepareForUpdate(upd, old)
	if len(upd.Annotations) != 2 || upd.Annotations["team"] != "b" || upd.Annotations[conditionsAnnotation] != old.Annotations[conditionsAnnotation] {
		t.Errorf("updated with annotations %v", upd.Annotations)
	}
}
