package core

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// Pod update and status update rules, as Kubernetes' ValidatePodUpdate
// and ValidatePodStatusUpdate.

// The fields a pod update may change, as Kubernetes lists them.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// Annotation key prefix of the deprecated AppArmor annotations, which are
// fixed at creation.
const appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := validatePodAnnotationUpdate(pod, old, field.NewPath("metadata", "annotations"))
	cErrs, stop := validateContainerUpdates(pod.Spec.Containers, old.Spec.Containers, specPath.Child("containers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	cErrs, stop = validateContainerUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, specPath.Child("initContainers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	adPath := specPath.Child("activeDeadlineSeconds")
	if ad := pod.Spec.ActiveDeadlineSeconds; ad != nil {
		if *ad < 0 || *ad > math.MaxInt32 {
			return append(errs, field.Invalid(adPath, *ad, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if oldAD := old.Spec.ActiveDeadlineSeconds; oldAD != nil && *oldAD < *ad {
			return append(errs, field.Invalid(adPath, *ad, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyRemovedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if equality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged, mungeErrs := mungePodSpecUpdate(pod, old, specPath)
	errs = append(errs, mungeErrs...)
	if !equality.Semantic.DeepEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatablePodSpecFields, ","), podSpecDiff(&old.Spec, munged))))
	}
	return errs
}

// mungePodSpecUpdate returns the new spec with every change that is allowed
// undone, so what remains differs from the old spec only where the update
// is forbidden.
func mungePodSpecUpdate(pod, old *corev1.Pod, specPath *field.Path) (*corev1.PodSpec, field.ErrorList) {
	var errs field.ErrorList
	m := pod.Spec.DeepCopy()
	for i := range m.Containers {
		m.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range m.InitContainers {
		m.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	m.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	m.SchedulingGates = old.Spec.SchedulingGates
	m.Tolerations = old.Spec.Tolerations
	if g, og := m.TerminationGracePeriodSeconds, old.Spec.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		m.TerminationGracePeriodSeconds = og
	}
	// A pod still held by scheduling gates may gain node selector entries.
	if len(old.Spec.SchedulingGates) > 0 && !equality.Semantic.DeepEqual(m.NodeSelector, old.Spec.NodeSelector) {
		for k, v := range old.Spec.NodeSelector {
			if nv, ok := m.NodeSelector[k]; !ok || nv != v {
				errs = append(errs, field.Invalid(specPath.Child("nodeSelector"), m.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		m.NodeSelector = old.Spec.NodeSelector
	}
	return m, errs
}

// podSpecDiff describes how two specs differ, for the Forbidden message.
func podSpecDiff(old, new *corev1.PodSpec) (diff string) {
	defer func() {
		if recover() != nil {
			diff = ""
		}
	}()
	return cmp.Diff(*old, *new)
}

func validateContainerUpdates(containers, old []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(containers) != len(old) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range containers {
		if c.Image == "" {
			errs = append(errs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
		if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return errs, false
}

// validateOnlyAddedTolerations: existing tolerations stay, except that
// their tolerationSeconds may change.
func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			o.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(o, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(tolerations, fldPath)
}

func validateOnlyRemovedSchedulingGates(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	oldNames := sets.New[string]()
	for _, g := range old {
		oldNames.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !oldNames.Has(g.Name) {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// validatePodAnnotationUpdate: the mirror pod and AppArmor annotations are
// fixed at creation.
func validatePodAnnotationUpdate(pod, old *corev1.Pod, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	fixed := func(k string) bool {
		return k == corev1.MirrorPodAnnotationKey || strings.HasPrefix(k, appArmorAnnotationPrefix)
	}
	what := func(k string) string {
		if k == corev1.MirrorPodAnnotationKey {
			return "mirror pod annotation"
		}
		return "AppArmor annotations"
	}
	for k, ov := range old.Annotations {
		if nv, ok := pod.Annotations[k]; (!ok || nv != ov) && fixed(k) {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not remove or update "+what(k)))
		}
	}
	for k := range pod.Annotations {
		if _, ok := old.Annotations[k]; !ok && fixed(k) {
			errs = append(errs, field.Forbidden(fldPath.Key(k), "may not add "+what(k)))
		}
	}
	return errs
}

// validatePodStatusUpdate checks an update through pods/status.
func validatePodStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	// Kubernetes reports condition types under metadata.
	errs := validatePodConditions(pod.Status.Conditions, field.NewPath("metadata", "conditions"))
	statusPath := field.NewPath("status")
	if n := pod.Status.NominatedNodeName; n != old.Status.NominatedNodeName && n != "" {
		errs = append(errs, checkName(n, apivalidation.NameIsDNSSubdomain, statusPath.Child("nominatedNodeName"))...)
	}
	// The QoS class is fixed at creation; an empty one (old kubelets drop
	// it) counts as unchanged.
	if q := pod.Status.QOSClass; q != "" && q != old.Status.QOSClass {
		errs = append(errs, field.Invalid(statusPath.Child("qosClass"), q, apivalidation.FieldImmutableErrorMsg))
	}
	errs = append(errs, validateContainerStateTransitions(pod.Status.ContainerStatuses, old.Status.ContainerStatuses,
		statusPath.Child("containerStatuses"), old.Spec.RestartPolicy, nil)...)
	errs = append(errs, validateContainerStateTransitions(pod.Status.InitContainerStatuses, old.Status.InitContainerStatuses,
		statusPath.Child("initContainerStatuses"), old.Spec.RestartPolicy, old.Spec.InitContainers)...)
	errs = append(errs, validateContainerStateTransitions(pod.Status.EphemeralContainerStatuses, old.Status.EphemeralContainerStatuses,
		statusPath.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)
	errs = append(errs, validateStatusIPs(podIPStrings(&pod.Status), statusPath.Child("podIPs"), pod.Status.PodIPs)...)
	hostIPs := make([]string, 0, len(pod.Status.HostIPs))
	for _, ip := range pod.Status.HostIPs {
		hostIPs = append(hostIPs, ip.IP)
	}
	if len(hostIPs) == 0 && pod.Status.HostIP != "" {
		hostIPs = []string{pod.Status.HostIP}
	}
	errs = append(errs, validateStatusIPs(hostIPs, statusPath.Child("hostIPs"), pod.Status.HostIPs)...)
	return errs
}

func validatePodConditions(conditions []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		errs = append(errs, checkQualifiedName(string(c.Type), fldPath.Index(i).Child("Type"))...)
	}
	return errs
}

// validateContainerStateTransitions: unless the pod restarts containers,
// a terminated container stays terminated. Sidecars (restartable init
// containers, listed in inits) always may restart.
func validateContainerStateTransitions(statuses, old []corev1.ContainerStatus, fldPath *field.Path, policy corev1.RestartPolicy, inits []corev1.Container) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	sidecars := sets.New[string]()
	for _, c := range inits {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.Insert(c.Name)
		}
	}
	var errs field.ErrorList
	for i, o := range old {
		t := o.State.Terminated
		if t == nil || (t.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) || sidecars.Has(o.Name) {
			continue
		}
		for _, s := range statuses {
			if s.Name == o.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// podIPStrings returns the pod's IPs; status.podIP wins over a podIPs list
// that disagrees, as when Kubernetes converts a v1 status.
func podIPStrings(s *corev1.PodStatus) []string {
	if s.PodIP != "" && (len(s.PodIPs) == 0 || s.PodIPs[0].IP != s.PodIP) {
		return []string{s.PodIP}
	}
	ips := make([]string, 0, len(s.PodIPs))
	for _, ip := range s.PodIPs {
		ips = append(ips, ip.IP)
	}
	return ips
}

// validateStatusIPs: valid addresses, at most one per IP family.
func validateStatusIPs(ips []string, fldPath *field.Path, listValue interface{}) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIP(fldPath.Index(i), ip)...)
	}
	if len(ips) < 2 || len(errs) > 0 {
		return errs
	}
	if dual, err := netutils.IsDualStackIPStrings(ips); err != nil || !dual || len(ips) > 2 {
		errs = append(errs, field.Invalid(fldPath, listValue, "may specify no more than one IP for each IP family"))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
		}
		seen.Insert(ip)
	}
	return errs
}
