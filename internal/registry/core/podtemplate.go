package core

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Shared with the workload groups (apps, batch): the pod template rules.

// DefaultPodSpec applies Kubernetes' defaults to a pod spec (restartPolicy,
// dnsPolicy, terminationGracePeriodSeconds, container defaults, ...).
// Pods get more on top of these (see defaultPod); like Kubernetes,
// templates do not get the pod-only defaults (requests from limits,
// enableServiceLinks, host ports, admission defaults).
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec != nil {
		defaultPodSpecFields(spec)
	}
}

// DefaultPodTemplateSpec applies the pod spec defaults to a template.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	if t != nil {
		DefaultPodSpec(&t.Spec)
	}
}

// ValidatePodSpec checks a pod spec; fldPath points at it ("spec" for a
// pod, "spec.template.spec" for a Deployment).
func ValidatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	return validatePodSpec(spec, fldPath, podSpecOptions{})
}

// ValidatePodTemplateSpec checks a template's metadata (labels,
// annotations) and spec; fldPath points at the template. Like Kubernetes,
// label errors are reported at <template>.labels.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	errs := metavalidation.ValidateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodAnnotations(t.Annotations, &t.Spec, fldPath.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, fldPath.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// The PodTemplate resource.

var podTemplateStrategy = registry.Strategy{
	Default: func(obj runtime.Object) {
		DefaultPodTemplateSpec(&obj.(*corev1.PodTemplate).Template)
	},
	PrepareForCreate: func(obj runtime.Object) {
		obj.(*corev1.PodTemplate).Generation = 1
	},
	PrepareForUpdate: func(obj, old runtime.Object) {
		pt, oldPT := obj.(*corev1.PodTemplate), old.(*corev1.PodTemplate)
		pt.Generation = oldPT.Generation
		if !equality.Semantic.DeepEqual(pt.Template, oldPT.Template) {
			pt.Generation++
		}
	},
	Validate: func(obj runtime.Object) field.ErrorList {
		return ValidatePodTemplateSpec(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
	},
}

var podTemplateTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Containers", "string", 0, "Names of each container in the template."),
		registry.Column("Images", "string", 0, "Images referenced by each container in the template."),
		registry.Column("Pod Labels", "string", 0, "The labels for the pod template."),
	},
	Row: func(obj runtime.Object) []interface{} {
		pt := obj.(*corev1.PodTemplate)
		names, images := podContainerCells(pt.Template.Spec.Containers)
		return []interface{}{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}
	},
}

// podContainerCells joins container names and images for the CONTAINERS and
// IMAGES columns.
func podContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}
