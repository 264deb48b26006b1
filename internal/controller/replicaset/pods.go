package replicaset

import (
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// deletionCostAnnotation lets users say which pods of a ReplicaSet to keep
// when it scales down: lower cost goes first.
const deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// podKey is the key of a pod in expectations: namespace/name.
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// isActive reports whether a pod counts as a replica: not terminal and not
// being deleted.
func isActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

func activePods(pods []*corev1.Pod) []*corev1.Pod {
	out := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		if isActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// readyCondition returns the pod's Ready condition, or nil.
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

// availability says whether a pod is ready and available (ready for more
// than minReadySeconds) at now; for a ready pod not yet available, wait is
// how long until it is (0 if that is unknown).
func availability(p *corev1.Pod, minReadySeconds int32, now time.Time) (ready, available bool, wait time.Duration) {
	c := readyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false, false, 0
	}
	if minReadySeconds == 0 {
		return true, true, 0
	}
	if c.LastTransitionTime.IsZero() {
		return true, false, 0 // ready since an unknown time: not available, as upstream
	}
	at := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	if at.Before(now) {
		return true, true, 0
	}
	return true, false, max(at.Sub(now), time.Nanosecond)
}

// deletionCost parses the pod's deletion cost annotation; a missing or
// malformed value costs 0.
func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[deletionCostAnnotation]
	if !ok || v == "" {
		return 0
	}
	// No "+" sign and no leading zeros.
	if v[0] == '+' || (v[0] == '0' && v != "0") || (v[0] == '-' && len(v) > 1 && v[1] == '0') {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

func maxRestarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n = max(n, s.RestartCount)
	}
	return n
}

// podFromTemplate builds a pod of the template owned by ref, named
// "<owner>-<random suffix>" by the API server.
func podFromTemplate(t *corev1.PodTemplateSpec, namespace, owner string, ref *metav1.OwnerReference) *corev1.Pod {
	prefix := owner + "-"
	if len(validation.IsDNS1123Subdomain(owner+"a")) != 0 { // the prefix, its trailing dash masked
		prefix = owner
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: prefix,
			Namespace:    namespace,
			Labels:       maps.Clone(t.Labels),
			Annotations:  maps.Clone(t.Annotations),
			Finalizers:   append([]string(nil), t.Finalizers...),
		},
		Spec: *t.Spec.DeepCopy(),
	}
	if ref != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return pod
}
