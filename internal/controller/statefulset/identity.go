package statefulset

import (
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels the controller puts on its pods: the name of the
// ControllerRevision a pod was made from, its own name (for a per-pod
// Service) and its ordinal.
const (
	revisionLabel = appsv1.StatefulSetRevisionLabel
	podNameLabel  = appsv1.StatefulSetPodNameLabel
	podIndexLabel = appsv1.PodIndexLabel
)

// podKey is the key of a pod in expectations: namespace/name.
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// parentAndOrdinal splits a pod name <parent>-<ordinal>; ordinal is -1 if
// the name does not end in a dash and a number that fits in an int32.
func parentAndOrdinal(name string) (parent string, ordinal int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return "", -1
	}
	digits := name[i+1:]
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", -1
		}
	}
	n, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return "", -1
	}
	return name[:i], int(n)
}

func ordinalOf(p *corev1.Pod) int {
	_, ord := parentAndOrdinal(p.Name)
	return ord
}

// isMember says whether p is named as a pod of set.
func isMember(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, ord := parentAndOrdinal(p.Name)
	return ord >= 0 && parent == set.Name
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return set.Name + "-" + strconv.Itoa(ordinal)
}

// claimName is the name of the claim of template t for the pod with the
// given ordinal: <template>-<set>-<ordinal>.
func claimName(set *appsv1.StatefulSet, t *corev1.PersistentVolumeClaim, ordinal int) string {
	return t.Name + "-" + set.Name + "-" + strconv.Itoa(ordinal)
}

// startOrdinal is the first ordinal of set (spec.ordinals.start).
func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// replicas is spec.replicas, 1 when unset as the API server defaults it.
func replicas(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange says whether the ordinal is one set should run now.
func inRange(set *appsv1.StatefulSet, ordinal int) bool {
	start := startOrdinal(set)
	return ordinal >= start && ordinal < start+replicas(set)
}

// newPod builds the pod with the given ordinal from template, made from
// the revision named rev: the template's metadata and spec, the identity
// labels, hostname and subdomain, and volumes for the set's claims.
func newPod(set *appsv1.StatefulSet, template *corev1.PodTemplateSpec, rev string, ordinal int) *corev1.Pod {
	name := podName(set, ordinal)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       set.Namespace,
			Labels:          maps.Clone(template.Labels),
			Annotations:     maps.Clone(template.Annotations),
			Finalizers:      append([]string(nil), template.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Spec: *template.Spec.DeepCopy(),
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[podNameLabel] = name
	pod.Labels[podIndexLabel] = strconv.Itoa(ordinal)
	pod.Labels[revisionLabel] = rev
	pod.Spec.Hostname = name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Spec.Volumes = podVolumes(set, ordinal, pod.Spec.Volumes)
	return pod
}

// podVolumes returns a volume for each of set's claim templates, naming the
// pod's claim, followed by the template's volumes of other names.
func podVolumes(set *appsv1.StatefulSet, ordinal int, template []corev1.Volume) []corev1.Volume {
	out := make([]corev1.Volume, 0, len(set.Spec.VolumeClaimTemplates)+len(template))
	names := map[string]bool{}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		names[t.Name] = true
		out = append(out, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t, ordinal)},
		}})
	}
	for _, v := range template {
		if !names[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// identityMatches says whether p carries the name label of its identity;
// its name, hostname and subdomain cannot change.
func identityMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	return isMember(set, p) && p.Namespace == set.Namespace && p.Labels[podNameLabel] == p.Name
}

// storageMatches says whether p mounts each of its claims.
func storageMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	ord := ordinalOf(p)
	if ord < 0 {
		return false
	}
	claims := map[string]string{}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims[v.Name] = v.PersistentVolumeClaim.ClaimName
		}
	}
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		if claims[t.Name] != claimName(set, t, ord) {
			return false
		}
	}
	return true
}

func revisionOf(p *corev1.Pod) string { return p.Labels[revisionLabel] }
