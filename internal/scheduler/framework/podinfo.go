package framework

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Defaults the scheduler assumes for containers that request nothing, when
// scoring (as kube-scheduler's non-zero requests).
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 << 20
)

// NewPodInfo pre-computes a pod's requests and affinity terms. Terms with
// selectors that do not parse are left out (validation refuses them).
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod}
	pi.Requests, pi.NonZeroRequests = podRequests(pod)
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.RequiredAffinityTerms = terms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAffinityTerms = weighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.RequiredAntiAffinityTerms = terms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAntiAffinityTerms = weighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	return pi
}

// podRequests is the larger of the biggest init container and the sum of
// the app containers (sidecar init containers count with the app ones),
// plus pod overhead.
func podRequests(pod *corev1.Pod) (Resource, Resource) {
	var sum, nonZero Resource
	for i := range pod.Spec.Containers {
		r, nz := containerRequests(&pod.Spec.Containers[i])
		sum.Add(&r)
		nonZero.Add(&nz)
	}
	var sidecars, sidecarsNZ Resource
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r, nz := containerRequests(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.Add(&r)
			sidecarsNZ.Add(&nz)
			continue
		}
		r.Add(&sidecars)
		nz.Add(&sidecarsNZ)
		maxInto(&sum, &r)
		maxInto(&nonZero, &nz)
	}
	sum.Add(&sidecars)
	nonZero.Add(&sidecarsNZ)
	if pod.Spec.Overhead != nil {
		o := FromList(pod.Spec.Overhead)
		sum.Add(&o)
		nonZero.Add(&o)
	}
	sum.AllowedPodNumber, nonZero.AllowedPodNumber = 1, 1
	return sum, nonZero
}

func containerRequests(c *corev1.Container) (Resource, Resource) {
	r := FromList(c.Resources.Requests)
	nz := r
	nz.Scalar = nil
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		nz.MilliCPU = DefaultMilliCPURequest
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		nz.Memory = DefaultMemoryRequest
	}
	return r, nz
}

func maxInto(dst, r *Resource) {
	dst.MilliCPU = max(dst.MilliCPU, r.MilliCPU)
	dst.Memory = max(dst.Memory, r.Memory)
	dst.EphemeralStorage = max(dst.EphemeralStorage, r.EphemeralStorage)
	for k, v := range r.Scalar {
		if dst.Scalar == nil {
			dst.Scalar = map[corev1.ResourceName]int64{}
		}
		dst.Scalar[k] = max(dst.Scalar[k], v)
	}
}

// FromList converts a ResourceList.
func FromList(l corev1.ResourceList) Resource {
	var r Resource
	for name, q := range l {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU = q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory = q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage = q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber = q.Value()
		default:
			if IsScalar(name) {
				if r.Scalar == nil {
					r.Scalar = map[corev1.ResourceName]int64{}
				}
				r.Scalar[name] = q.Value()
			}
		}
	}
	return r
}

// IsScalar says a resource is counted as an integer by the scheduler:
// extended resources (domain-prefixed), hugepages and attachable volumes.
func IsScalar(name corev1.ResourceName) bool {
	s := string(name)
	if len(s) > 10 && s[:10] == "hugepages-" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i] != "kubernetes.io" && s[:i] != "requests.kubernetes.io"
		}
	}
	return false
}

func terms(pod *corev1.Pod, ts []corev1.PodAffinityTerm) []AffinityTerm {
	out := make([]AffinityTerm, 0, len(ts))
	for i := range ts {
		if t, ok := newTerm(pod, &ts[i]); ok {
			out = append(out, t)
		}
	}
	return out
}

func weighted(pod *corev1.Pod, ts []corev1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	out := make([]WeightedAffinityTerm, 0, len(ts))
	for i := range ts {
		if t, ok := newTerm(pod, &ts[i].PodAffinityTerm); ok {
			out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: ts[i].Weight})
		}
	}
	return out
}

// newTerm parses a term; with neither namespaces nor a namespaceSelector
// it means the pod's own namespace; matchLabelKeys and mismatchLabelKeys
// are merged into the selector from the pod's labels.
func newTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm) (AffinityTerm, bool) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return AffinityTerm{}, false
	}
	for _, k := range t.MatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			if r, err := labels.NewRequirement(k, "=", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	for _, k := range t.MismatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			if r, err := labels.NewRequirement(k, "!=", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	at := AffinityTerm{Selector: sel, TopologyKey: t.TopologyKey, Namespaces: map[string]bool{}}
	for _, ns := range t.Namespaces {
		at.Namespaces[ns] = true
	}
	if t.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			return AffinityTerm{}, false
		}
		at.NamespaceSelector = nsSel
	} else if len(t.Namespaces) == 0 {
		at.Namespaces[pod.Namespace] = true
	}
	return at, true
}

// Matches says the term selects pod (in a namespace with nsLabels).
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !t.Namespaces[pod.Namespace] && (t.NamespaceSelector == nil || !t.NamespaceSelector.Matches(nsLabels)) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}
