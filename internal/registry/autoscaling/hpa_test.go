package autoscaling

import (
	"reflect"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func validHPA() *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
			CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
		},
	}
	hpaV2Strategy.Default(h)
	return h
}

func qty(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

func TestHPADefaults(t *testing.T) {
	h := validHPA()
	if *h.Spec.MinReplicas != 1 || h.Spec.Behavior != nil {
		t.Errorf("spec %+v", h.Spec)
	}
	if !reflect.DeepEqual(h.Spec.Metrics, []autoscalingv2.MetricSpec{cpuUtilizationMetric(80)}) {
		t.Errorf("metrics %+v", h.Spec.Metrics)
	}
	again := h.DeepCopy()
	hpaV2Strategy.Default(again)
	if !reflect.DeepEqual(again, h) {
		t.Error("defaulting is not idempotent")
	}

	window := int32(60)
	b := validHPA()
	b.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}}
	hpaV2Strategy.Default(b)
	up, down := b.Spec.Behavior.ScaleUp, b.Spec.Behavior.ScaleDown
	if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 ||
		up.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}) {
		t.Errorf("scale up %+v", up)
	}
	if *down.StabilizationWindowSeconds != 60 || *down.SelectPolicy != autoscalingv2.MaxChangePolicySelect ||
		len(down.Policies) != 1 || down.Policies[0].Value != 100 {
		t.Errorf("scale down %+v", down)
	}
	d := validHPA()
	d.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	hpaV2Strategy.Default(d)
	if d.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != nil {
		t.Error("the scale-down window is the controller's to choose")
	}
}

// hpaCase mutates a valid HPA into one failing with want.
type hpaCase struct {
	name   string
	mutate func(*autoscalingv2.HorizontalPodAutoscaler)
	want   registrytest.Want
}

func TestHPAValidate(t *testing.T) {
	valid := map[string]func(*autoscalingv2.HorizontalPodAutoscaler){
		"defaults": func(*autoscalingv2.HorizontalPodAutoscaler) {},
		"all sources": func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()
		},
		"behavior": func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
			hpaV2Strategy.Default(h)
		},
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) {
			h := validHPA()
			mutate(h)
			registrytest.ExpectValid(t, hpaV2Strategy.Validate(h))
		})
	}

	cases := hpaInvalidCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := validHPA()
			c.mutate(h)
			registrytest.ExpectContains(t, hpaV2Strategy.Validate(h), c.want)
		})
	}
}

// allMetrics has one valid metric of every source type.
func allMetrics() []autoscalingv2.MetricSpec {
	return []autoscalingv2.MetricSpec{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("500Mi")}}},
		{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("2k")}}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "packets-per-second",
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"verb": "GET"}}},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("1k")}}},
		{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceCPU, Container: "app",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(60)}}},
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue_messages_ready"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("30")}}},
	}
}

func TestHPAStatusAndAnnotations(t *testing.T) {
	h := validHPA()
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 3}
	registrytest.ExpectValid(t, hpaV2Strategy.ValidateStatus(h, h))
	h.Status.DesiredReplicas = -1
	registrytest.ExpectContains(t, hpaV2Strategy.ValidateStatus(h, h), registrytest.Invalid("status.desiredReplicas", ""))

	h.Annotations = map[string]string{metricsAnnotation: "[]", "team": "a"}
	hpaV2Strategy.PrepareForCreate(h)
	if !reflect.DeepEqual(h.Annotations, map[string]string{"team": "a"}) {
		t.Errorf("annotations %v", h.Annotations)
	}
	h.Annotations = map[string]string{conditionsAnnotation: "[]"}
	hpaV2Strategy.PrepareForUpdate(h, h.DeepCopy())
	if h.Annotations != nil {
		t.Errorf("annotations %v", h.Annotations)
	}
}

// hpaInvalidCases lists invalid objects and the error each must get.
func hpaInvalidCases() []hpaCase {
	m0 := "spec.metrics[0]"
	return []hpaCase{
		{"no kind", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" },
			registrytest.Required("spec.scaleTargetRef.kind", "")},
		{"no name", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Name = "" },
			registrytest.Required("spec.scaleTargetRef.name", "")},
		{"bad name", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Name = "a/b" },
			registrytest.Invalid("spec.scaleTargetRef.name", "may not contain '/'")},
		{"zero min", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(0) },
			registrytest.Invalid("spec.minReplicas", "must be greater than or equal to 1")},
		{"zero max", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 0 },
			registrytest.Invalid("spec.maxReplicas", "must be greater than 0")},
		{"max below min", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(5); h.Spec.MaxReplicas = 3 },
			registrytest.Invalid("spec.maxReplicas", "must be greater than or equal to `minReplicas`")},
		{"no metric type", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "" },
			registrytest.Required(m0+".type", "must specify a metric source type")},
		{"unknown metric type", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "Magic" },
			registrytest.NotSupported(m0+".type", "")},
		{"source missing", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType
		},
			registrytest.Required(m0+".pods", "must populate information for the given metric source")},
		{"two sources", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Pods = allMetrics()[2].Pods },
			registrytest.Forbidden(m0+".pods", "must populate the given metric source only")},
		{"zero utilization", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			*h.Spec.Metrics[0].Resource.Target.AverageUtilization = 0
		},
			registrytest.Invalid(m0+".resource.target.averageUtilization", "must be greater than 0")},
		{"no resource target", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = nil
		},
			registrytest.Required(m0+".resource.target.averageUtilization", "must set either a target raw value or a target utilization")},
		{"both resource targets", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageValue = qty("100m")
		},
			registrytest.Forbidden(m0+".resource.target.averageValue", "")},
		{"target type", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Resource.Target.Type = "Percent" },
			registrytest.Invalid(m0+".resource.target.type", "must be either Utilization, Value, or AverageValue")},
		{"no resource name", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Resource.Name = "" },
			registrytest.Required(m0+".resource.name", "")},
		{"pods without average", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[2:3]
			h.Spec.Metrics[0].Pods.Target = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType}
		}, registrytest.Required(m0+".pods.target.averageValue", "must specify a positive target averageValue")},
		{"negative object value", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[1:2]
			h.Spec.Metrics[0].Object.Target.Value = qty("-1")
		}, registrytest.Invalid(m0+".object.target.value", "must be positive")},
		{"object without described object", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[1:2]
			h.Spec.Metrics[0].Object.DescribedObject.Kind = ""
		}, registrytest.Required(m0+".object.describedObject.kind", "")},
		{"metric without name", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[4:5]
			h.Spec.Metrics[0].External.Metric.Name = ""
		}, registrytest.Required(m0+".external.metric.name", "must specify a metric name")},
		{"external both", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[4:5]
			h.Spec.Metrics[0].External.Target.Value = qty("3")
		}, registrytest.Forbidden(m0+".external.target.value", "")},
		{"container name", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[3:4]
			h.Spec.Metrics[0].ContainerResource.Container = "Bad_Name"
		}, registrytest.Invalid(m0+".containerResource.container", "")},
		{"container resource", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = allMetrics()[3:4]
			h.Spec.Metrics[0].ContainerResource.Name = "pods"
		}, registrytest.Invalid(m0+".containerResource.name", "must be a standard resource for containers")},
		{"no policies", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{}}}
		}, registrytest.Required("spec.behavior.scaleUp.policies", "must specify at least one Policy")},
		{"policy", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Nodes", Value: 0, PeriodSeconds: 4000}}}}
		}, registrytest.Invalid("spec.behavior.scaleDown.policies[0].periodSeconds", "must be less than or equal to 1800")},
		{"window", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
			hpaV2Strategy.Default(h)
			*h.Spec.Behavior.ScaleUp.StabilizationWindowSeconds = -1
		}, registrytest.Invalid("spec.behavior.scaleUp.stabilizationWindowSeconds", "must be greater than or equal to zero")},
		{"select policy", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
			hpaV2Strategy.Default(h)
			*h.Spec.Behavior.ScaleDown.SelectPolicy = "Average"
		}, registrytest.NotSupported("spec.behavior.scaleDown.selectPolicy", "")},
	}
}
