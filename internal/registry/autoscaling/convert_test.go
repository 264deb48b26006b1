package autoscaling

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fullHPA uses every v2 field v1 lacks. The CPU metric is last: v1 puts it
// back there.
func fullHPA() *autoscalingv2.HorizontalPodAutoscaler {
	h := validHPA()
	h.Labels = map[string]string{"app": "web"}
	h.Annotations = map[string]string{"owner": "team-a"}
	h.UID, h.ResourceVersion, h.Generation = "uid-1", "42", 3
	h.Spec.MinReplicas = i32(2)
	h.Spec.Metrics = append(allMetrics(), cpuUtilizationMetric(70))
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	hpaV2Strategy.Default(h)
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	gen := int64(3)
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: &gen, LastScaleTime: &now, CurrentReplicas: 3, DesiredReplicas: 4,
		CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
				Current: autoscalingv2.MetricValueStatus{AverageValue: qty("300Mi")}}},
			{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Ingress", Name: "main"},
				Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
				Current:         autoscalingv2.MetricValueStatus{Value: qty("1500")}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
				Metric: autoscalingv2.MetricIdentifier{Name: "packets-per-second"}, Current: autoscalingv2.MetricValueStatus{AverageValue: qty("800")}}},
			{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{
				Name: corev1.ResourceCPU, Container: "app",
				Current: autoscalingv2.MetricValueStatus{AverageValue: qty("120m"), AverageUtilization: i32(40)}}},
			{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
				Metric:  autoscalingv2.MetricIdentifier{Name: "queue_messages_ready"},
				Current: autoscalingv2.MetricValueStatus{Value: qty("0"), AverageValue: qty("12")}}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageValue: qty("250m"), AverageUtilization: i32(55)}}},
		},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "ReadyForNewScale",
				Message: "recommended size matches current size", ObservedGeneration: &gen},
			{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse, Reason: "DesiredWithinRange"},
		},
	}
	return h
}

func toV1(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv1.HorizontalPodAutoscaler {
	t.Helper()
	out, err := hpaV2ToV1(h)
	if err != nil {
		t.Fatal(err)
	}
	return out.(*autoscalingv1.HorizontalPodAutoscaler)
}

func toV2(t *testing.T, h *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	out, err := hpaV1ToV2(h)
	if err != nil {
		t.Fatal(err)
	}
	return out.(*autoscalingv2.HorizontalPodAutoscaler)
}

// wireRoundTrip sends a v1 object through JSON, as a client sees it.
func wireRoundTrip(t *testing.T, h *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv1.HorizontalPodAutoscaler {
	t.Helper()
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out autoscalingv1.HorizontalPodAutoscaler
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestHPARoundTripThroughV1(t *testing.T) {
	for name, h := range map[string]*autoscalingv2.HorizontalPodAutoscaler{
		"defaults": validHPA(),
		"full":     fullHPA(),
		"no cpu": func() *autoscalingv2.HorizontalPodAutoscaler {
			h := fullHPA()
			h.Spec.Metrics = allMetrics()
			return h
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			before := h.DeepCopy()
			v1 := wireRoundTrip(t, toV1(t, h))
			back := toV2(t, v1)
			if !apiequality.Semantic.DeepEqual(h, before) {
				t.Error("conversion changed its input")
			}
			back.TypeMeta = h.TypeMeta
			if !apiequality.Semantic.DeepEqual(back, h) {
				gotJSON, _ := json.Marshal(back)
				wantJSON, _ := json.Marshal(h)
				t.Errorf("round trip differs:\n got %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestHPAV1View(t *testing.T) {
	v1 := toV1(t, fullHPA())
	if v1.APIVersion != "autoscaling/v1" || *v1.Spec.TargetCPUUtilizationPercentage != 70 || *v1.Spec.MinReplicas != 2 ||
		v1.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("spec %+v", v1.Spec)
	}
	if *v1.Status.CurrentCPUUtilizationPercentage != 55 || v1.Status.DesiredReplicas != 4 {
		t.Errorf("status %+v", v1.Status)
	}
	if v1.Annotations["owner"] != "team-a" || v1.Labels["app"] != "web" || v1.UID != "uid-1" || v1.ResourceVersion != "42" {
		t.Errorf("metadata %+v", v1.ObjectMeta)
	}
	// The metrics annotation holds the alpha v1 types, without the CPU target.
	var metrics []autoscalingv1.MetricSpec
	if err := json.Unmarshal([]byte(v1.Annotations[metricsAnnotation]), &metrics); err != nil || len(metrics) != 5 {
		t.Fatalf("metrics annotation %q: %v", v1.Annotations[metricsAnnotation], err)
	}
	if metrics[0].Resource == nil || metrics[0].Resource.TargetAverageValue.String() != "500Mi" ||
		metrics[2].Pods.TargetAverageValue.String() != "1k" || metrics[4].External.TargetAverageValue.String() != "30" {
		t.Errorf("metrics annotation %s", v1.Annotations[metricsAnnotation])
	}
	if !strings.Contains(v1.Annotations[currentMetricsAnnotation], `"currentAverageUtilization":55`) {
		t.Errorf("current metrics annotation %s", v1.Annotations[currentMetricsAnnotation])
	}
	if !strings.Contains(v1.Annotations[conditionsAnnotation], `"reason":"ReadyForNewScale"`) {
		t.Errorf("conditions annotation %s", v1.Annotations[conditionsAnnotation])
	}
	// Kubernetes writes its internal type, with Go field names.
	if !strings.HasPrefix(v1.Annotations[behaviorAnnotation], `{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}`) {
		t.Errorf("behavior annotation %s", v1.Annotations[behaviorAnnotation])
	}

	// A CPU-only HPA needs no annotations.
	plain := toV1(t, validHPA())
	if plain.Annotations != nil || *plain.Spec.TargetCPUUtilizationPercentage != 80 {
		t.Errorf("plain v1 %+v", plain)
	}
}

func TestHPAFromV1(t *testing.T) {
	in := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{
			metricsAnnotation:        `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`,
			currentMetricsAnnotation: `not json`,
			behaviorAnnotation:       `{"ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60}]}}`,
			"team":                   "a",
		}},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "StatefulSet", Name: "db"},
			MaxReplicas:    5, TargetCPUUtilizationPercentage: i32(50),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, CurrentCPUUtilizationPercentage: i32(30)},
	}
	before := in.DeepCopy()
	out := toV2(t, in)
	if !apiequality.Semantic.DeepEqual(in, before) {
		t.Error("conversion changed its input")
	}
	if len(out.Spec.Metrics) != 2 || out.Spec.Metrics[0].Pods == nil || out.Spec.Metrics[0].Pods.Metric.Name != "qps" ||
		out.Spec.Metrics[0].Pods.Target.Type != autoscalingv2.AverageValueMetricType ||
		*out.Spec.Metrics[1].Resource.Target.AverageUtilization != 50 {
		t.Errorf("metrics %+v", out.Spec.Metrics)
	}
	if out.Spec.MinReplicas != nil {
		t.Error("conversion defaulted minReplicas")
	}
	sd := out.Spec.Behavior.ScaleDown
	if out.Spec.Behavior.ScaleUp != nil || *sd.StabilizationWindowSeconds != 300 || *sd.SelectPolicy != autoscalingv2.MinChangePolicySelect ||
		sd.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}) {
		t.Errorf("behavior %+v", out.Spec.Behavior)
	}
	// The unreadable current-metrics annotation is ignored; the v1 field stands.
	if len(out.Status.CurrentMetrics) != 1 || *out.Status.CurrentMetrics[0].Resource.Current.AverageUtilization != 30 {
		t.Errorf("current metrics %+v", out.Status.CurrentMetrics)
	}
	if len(out.Annotations) != 1 || out.Annotations["team"] != "a" {
		t.Errorf("annotations %v", out.Annotations)
	}

	// No target and no metrics: the conversion adds nothing (defaulting does).
	bare := toV2(t, &autoscalingv1.HorizontalPodAutoscaler{})
	if bare.Spec.Metrics != nil || bare.Status.CurrentMetrics != nil {
		t.Errorf("bare %+v", bare)
	}
	if _, err := hpaV1ToV2(bare); err == nil {
		t.Error("a v2 object passed as v1")
	}
}

func TestHPAV1RoundTrip(t *testing.T) {
	in := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    i32(1), MaxReplicas: 5, TargetCPUUtilizationPercentage: i32(50),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 2},
	}
	back := toV1(t, toV2(t, in))
	back.TypeMeta = in.TypeMeta
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Errorf("v1 round trip: got %+v, want %+v", back, in)
	}
}

// As in Kubernetes, v1 holds the CPU target apart, so a v2 object whose
// CPU metric is not last comes back with it last.
func TestHPARoundTripMovesCPULast(t *testing.T) {
	h := fullHPA()
	h.Spec.Metrics = append([]autoscalingv2.MetricSpec{cpuUtilizationMetric(70)}, allMetrics()...)
	back := toV2(t, toV1(t, h))
	if len(back.Spec.Metrics) != 6 || !isCPUUtilization(&back.Spec.Metrics[5]) ||
		!apiequality.Semantic.DeepEqual(back.Spec.Metrics[:5], allMetrics()) {
		t.Errorf("metrics %+v", back.Spec.Metrics)
	}
}
