package autoscaling

import (
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation of the metric sources of an HPA.

var metricSourceTypes = []string{
	string(autoscalingv2.ContainerResourceMetricSourceType), string(autoscalingv2.ExternalMetricSourceType),
	string(autoscalingv2.ObjectMetricSourceType), string(autoscalingv2.PodsMetricSourceType),
	string(autoscalingv2.ResourceMetricSourceType),
}

// sourceField is the member of a MetricSpec holding a source type.
func sourceField(t autoscalingv2.MetricSourceType) string {
	if t == autoscalingv2.ContainerResourceMetricSourceType {
		return "containerResource"
	}
	return strings.ToLower(string(t))
}

// validateMetricSpec checks the type, that exactly the matching source is
// set, and that source.
func validateMetricSpec(m *autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	}
	if !slices.Contains(metricSourceTypes, string(m.Type)) {
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, metricSourceTypes))
	}
	present := presentSources(m)
	if len(present) > 0 {
		errs = append(errs, validateSource(m, present[0], p.Child(present[0]))...)
	}
	expected := ""
	if slices.Contains(metricSourceTypes, string(m.Type)) {
		expected = sourceField(m.Type)
		if !slices.Contains(present, expected) {
			errs = append(errs, field.Required(p.Child(expected), "must populate information for the given metric source"))
		}
	}
	if len(present) > 1 {
		for _, f := range present {
			if f != expected {
				errs = append(errs, field.Forbidden(p.Child(f), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

// presentSources lists the set sources in Kubernetes' checking order.
func presentSources(m *autoscalingv2.MetricSpec) []string {
	var out []string
	for _, s := range []struct {
		name string
		set  bool
	}{{"object", m.Object != nil}, {"external", m.External != nil}, {"pods", m.Pods != nil},
		{"resource", m.Resource != nil}, {"containerResource", m.ContainerResource != nil}} {
		if s.set {
			out = append(out, s.name)
		}
	}
	return out
}

func validateSource(m *autoscalingv2.MetricSpec, name string, p *field.Path) field.ErrorList {
	switch name {
	case "object":
		errs := validateObjectReference(m.Object.DescribedObject, p.Child("describedObject"))
		errs = append(errs, validateMetricIdentifier(m.Object.Metric, p.Child("metric"))...)
		errs = append(errs, validateMetricTarget(m.Object.Target, p.Child("target"))...)
		if m.Object.Target.Value == nil && m.Object.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target", "averageValue"), "must set either a target value or averageValue"))
		}
		return errs
	case "external":
		return validateExternalSource(m.External, p)
	case "pods":
		errs := validateMetricIdentifier(m.Pods.Metric, p.Child("metric"))
		errs = append(errs, validateMetricTarget(m.Pods.Target, p.Child("target"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("target", "averageValue"), "must specify a positive target averageValue"))
		}
		return errs
	case "resource":
		var errs field.ErrorList
		if m.Resource.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
		}
		return append(errs, validateResourceTarget(m.Resource.Target, p.Child("target"))...)
	default:
		return validateContainerResourceSource(m.ContainerResource, p)
	}
}

func validateExternalSource(s *autoscalingv2.ExternalMetricSource, p *field.Path) field.ErrorList {
	errs := validateMetricIdentifier(s.Metric, p.Child("metric"))
	errs = append(errs, validateMetricTarget(s.Target, p.Child("target"))...)
	if s.Target.Value == nil && s.Target.AverageValue == nil {
		errs = append(errs, field.Required(p.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if s.Target.Value != nil && s.Target.AverageValue != nil {
		errs = append(errs, field.Forbidden(p.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
	}
	return errs
}

func validateContainerResourceSource(s *autoscalingv2.ContainerResourceMetricSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
	} else {
		errs = append(errs, validateContainerResourceName(s.Name, p.Child("name"))...)
	}
	if s.Container == "" {
		errs = append(errs, field.Required(p.Child("container"), "must specify a container"))
	} else {
		for _, msg := range utilvalidation.IsDNS1123Label(s.Container) {
			errs = append(errs, field.Invalid(p.Child("container"), s.Container, msg))
		}
	}
	return append(errs, validateResourceTarget(s.Target, p.Child("target"))...)
}

// validateResourceTarget: resource targets are per pod, as a value or a
// utilization.
func validateResourceTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	errs := validateMetricTarget(t, p)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(p.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(p.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

// validateContainerResourceName accepts the standard container resources
// and qualified extended resource names.
func validateContainerResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") {
		switch {
		case name == corev1.ResourceCPU, name == corev1.ResourceMemory, name == corev1.ResourceEphemeralStorage,
			strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
		default:
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !strings.Contains(string(name), "kubernetes.io/") && strings.HasPrefix(string(name), "requests.") {
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

func validateMetricTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType &&
		t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(p.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(id autoscalingv2.MetricIdentifier, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if id.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "must specify a metric name"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(id.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), id.Name, msg))
		}
	}
	return errs
}
