package daemonset

import (
	"maps"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels the controller puts on its pods: the hash of the
// ControllerRevision they were made from, and the template generation
// (kept for compatibility; the hash is what counts).
const (
	hashLabel       = appsv1.DefaultDaemonSetUniqueLabelKey
	generationLabel = "pod-template-generation"
)

// podKey is the key of a pod in expectations: namespace/name.
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// templateGeneration reads the template generation the API server keeps
// in an annotation of the DaemonSet; ok is false without one.
func templateGeneration(ds *appsv1.DaemonSet) (int64, bool) {
	v, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// isUpdated says the pod was made from ds's current template: it has the
// current revision's hash, or the current template generation.
func isUpdated(p *corev1.Pod, ds *appsv1.DaemonSet, hash string) bool {
	if hash != "" && p.Labels[hashLabel] == hash {
		return true
	}
	gen, ok := templateGeneration(ds)
	return ok && p.Labels[generationLabel] == strconv.FormatInt(gen, 10)
}

// newPod builds ds's pod for node from the template, labelled with the
// revision hash and template generation.
func newPod(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	t := &ds.Spec.Template
	prefix := ds.Name + "-"
	if len(validation.IsDNS1123Subdomain(ds.Name+"a")) != 0 {
		prefix = ds.Name
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       ds.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      append([]string(nil), t.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Spec: *podSpecForNode(&t.Spec, node),
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if gen, ok := templateGeneration(ds); ok {
		pod.Labels[generationLabel] = strconv.FormatInt(gen, 10)
	}
	if hash != "" {
		pod.Labels[hashLabel] = hash
	}
	return pod
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// availableAt says whether the pod is available at now (ready for
// minReadySeconds); wait is how long until a ready pod becomes available.
func availableAt(p *corev1.Pod, minReadySeconds int32, now time.Time) (available bool, wait time.Duration) {
	c := readyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false, 0
	}
	if minReadySeconds == 0 {
		return true, 0
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if !c.LastTransitionTime.IsZero() && at.Before(now) {
		return true, 0
	}
	return false, max(at.Sub(now), 0)
}

func isAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	ok, _ := availableAt(p, minReadySeconds, now)
	return ok
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// sortOldestFirst orders pods scheduled ones first, then by creation time
// and name: the first is the one to keep.
func sortOldestFirst(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}
