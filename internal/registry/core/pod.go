package core

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// The Pod resource: defaulting, create preparation, validation. Update and
// status rules are in pod_update.go, the table in pod_table.go.

var podStrategy = registry.Strategy{
	Default:          func(obj runtime.Object) { defaultPod(obj.(*corev1.Pod)) },
	PrepareForCreate: func(obj runtime.Object) { preparePodCreate(obj.(*corev1.Pod)) },
	PrepareForUpdate: func(obj, old runtime.Object) { preparePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod)) },
	Validate:         func(obj runtime.Object) field.ErrorList { return validatePod(obj.(*corev1.Pod)) },
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return validatePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
	},
	ValidateStatus: func(obj, old runtime.Object) field.ErrorList {
		return validatePodStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
	},
	Warnings: func(obj runtime.Object) []string { return podWarnings(obj.(*corev1.Pod)) },
}

// preparePodCreate sets what the server owns on a new pod: a Pending
// status with its QoS class, the SchedulingGated condition, and the label
// keys merged into affinity and spread selectors.
func preparePodCreate(pod *corev1.Pod) {
	pod.Status = corev1.PodStatus{
		Phase:    corev1.PodPending,
		QOSClass: podQOSClass(pod),
	}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
	mergeAffinityLabelKeys(pod)
	mergeSpreadLabelKeys(pod)
}

// preparePodUpdate keeps the admission-resolved priority when an update
// leaves it out, as the Priority admission plugin does.
func preparePodUpdate(pod, old *corev1.Pod) {
	if pod.Spec.Priority == nil {
		pod.Spec.Priority = old.Spec.Priority
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
	}
}

// mergeAffinityLabelKeys turns matchLabelKeys / mismatchLabelKeys of pod
// (anti-)affinity terms into selector requirements on the pod's own label
// values.
func mergeAffinityLabelKeys(pod *corev1.Pod) {
	a := pod.Spec.Affinity
	if a == nil {
		return
	}
	var terms []*corev1.PodAffinityTerm
	if pa := a.PodAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm)
		}
	}
	if pa := a.PodAntiAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm)
		}
	}
	for _, t := range terms {
		// A nil selector matches nothing; there is nothing to narrow.
		if t.LabelSelector == nil {
			continue
		}
		addLabelKeyRequirements(t.LabelSelector, pod.Labels, t.MatchLabelKeys, metav1.LabelSelectorOpIn)
		addLabelKeyRequirements(t.LabelSelector, pod.Labels, t.MismatchLabelKeys, metav1.LabelSelectorOpNotIn)
	}
}

// mergeSpreadLabelKeys does the same for topology spread matchLabelKeys.
func mergeSpreadLabelKeys(pod *corev1.Pod) {
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if c.LabelSelector != nil {
			addLabelKeyRequirements(c.LabelSelector, pod.Labels, c.MatchLabelKeys, metav1.LabelSelectorOpIn)
		}
	}
}

func addLabelKeyRequirements(sel *metav1.LabelSelector, podLabels map[string]string, keys []string, op metav1.LabelSelectorOperator) {
	for _, key := range keys {
		if value, ok := podLabels[key]; ok {
			sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
				Key: key, Operator: op, Values: []string{value},
			})
		}
	}
}

// podQOSClass computes the QoS class as Kubernetes does: Guaranteed when
// every container limits cpu and memory and requests equal limits,
// BestEffort when nothing requests or limits cpu or memory, else Burstable.
// Pod-level resources, when set, decide instead of the containers.
// PodQOS returns the pod's QoS class (Guaranteed, Burstable, BestEffort)
// as the API server computes it; the agent uses it for static pods.
func PodQOS(pod *corev1.Pod) corev1.PodQOSClass { return podQOSClass(pod) }

func podQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	add := func(req, lim corev1.ResourceList) {
		found := sets.New[corev1.ResourceName]()
		for name, q := range req {
			if qosResource(name) && q.Sign() > 0 {
				sumQuantity(requests, name, q)
			}
		}
		for name, q := range lim {
			if qosResource(name) && q.Sign() > 0 {
				found.Insert(name)
				sumQuantity(limits, name, q)
			}
		}
		if !found.HasAll(corev1.ResourceCPU, corev1.ResourceMemory) {
			guaranteed = false
		}
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		add(r.Requests, r.Limits)
	} else {
		for _, c := range append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...) {
			add(c.Resources.Requests, c.Resources.Limits)
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func qosResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

func sumQuantity(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	if cur, ok := list[name]; ok {
		cur.Add(q)
		list[name] = cur
		return
	}
	list[name] = q.DeepCopy()
}

// validatePod checks a pod beyond the generic metadata: its annotations,
// its spec, and the rules only pods (not templates) follow.
func validatePod(pod *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePodAnnotations(pod.Annotations, &pod.Spec, field.NewPath("metadata", "annotations"))
	errs = append(errs, validatePodSpec(&pod.Spec, specPath, podSpecOptions{isPod: true, podMeta: &pod.ObjectMeta})...)
	if pod.Spec.ServiceAccountName == "" {
		for vi, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for si, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil {
					errs = append(errs, field.Forbidden(specPath.Child("volumes").Index(vi).Child("projected", "sources").Index(si).Child("serviceAccountToken"),
						"must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for i := range pod.Spec.Containers {
		errs = append(errs, validateImageWhitespace(&pod.Spec.Containers[i], specPath.Child("containers").Index(i))...)
	}
	for i := range pod.Spec.InitContainers {
		errs = append(errs, validateImageWhitespace(&pod.Spec.InitContainers[i], specPath.Child("initContainers").Index(i))...)
	}
	// Ephemeral containers are only added through their own subresource.
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validatePodAnnotations checks the annotations with a meaning for pods
// (pods and pod templates alike).
func validatePodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if value, mirror := annotations[corev1.MirrorPodAnnotationKey]; mirror && spec.NodeName == "" {
		errs = append(errs, field.Invalid(fldPath.Key(corev1.MirrorPodAnnotationKey), value, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if value, ok := annotations[corev1.PodDeletionCost]; ok && !validDeletionCost(value) {
		errs = append(errs, field.Invalid(fldPath.Key(corev1.PodDeletionCost), value, "must be a 32bit integer"))
	}
	return errs
}

// validDeletionCost: a 32 bit integer without sign prefix or leading zeros.
func validDeletionCost(value string) bool {
	if value == "" || value[0] == '+' || (value[0] == '0' && value != "0") {
		return false
	}
	_, err := strconv.ParseInt(value, 10, 32)
	return err == nil
}

// podWarnings returns the warnings Kubernetes sends with a pod.
func podWarnings(pod *corev1.Pod) []string {
	var warnings []string
	if msgs := validation.IsDNS1123Label(pod.Name); pod.Name != "" && len(msgs) != 0 {
		warnings = append(warnings, fmt.Sprintf("metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: %v", msgs))
	}
	for i, ps := range pod.Spec.ImagePullSecrets {
		if ps.Name == "" {
			warnings = append(warnings, fmt.Sprintf("spec.imagePullSecrets[%d].name: invalid empty name %q", i, ps.Name))
		}
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		warnings = append(warnings, "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1")
	}
	return warnings
}
