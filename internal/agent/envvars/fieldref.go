package envvars

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodFieldValue returns the value of a downward-API metadata field of pod:
// metadata.name, metadata.namespace, metadata.uid, metadata.labels,
// metadata.annotations (all entries, one `key="value"` line each, sorted by
// key, no trailing newline) and metadata.labels['k'] /
// metadata.annotations['k'] (one value, "" when absent). These are the
// fields a downwardAPI volume can project; environment variables also reach
// spec.* and status.* fields, which need more than the pod object (see
// Resolve).
func PodFieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if path, key, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.labels":
			if errs := validation.IsQualifiedName(key); len(errs) > 0 {
				return "", configErrorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[key], nil
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) > 0 {
				return "", configErrorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[key], nil
		default:
			return "", configErrorf("fieldPath %q does not support subscript", fieldPath)
		}
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	return "", configErrorf("unsupported fieldPath: %v", fieldPath)
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (path, key string, ok bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	path, key, found := strings.Cut(strings.TrimSuffix(fieldPath, "']"), "['")
	if !found || path == "" {
		return fieldPath, "", false
	}
	return path, key, true
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%s=%q", k, m[k])
	}
	return strings.Join(lines, "\n")
}

// checkFieldAPIVersion accepts the only version of the pod downward API.
func checkFieldAPIVersion(sel *corev1.ObjectFieldSelector) error {
	if sel.APIVersion != "" && sel.APIVersion != "v1" {
		return configErrorf("unsupported pod version: %s", sel.APIVersion)
	}
	return nil
}

// ResourceFieldValue returns the value of a resourceFieldRef:
// limits.cpu, limits.memory, limits.ephemeral-storage, requests.* of the
// same, and limits/requests.hugepages-<size>, divided by sel.Divisor (1 when
// unset) and rounded up. The container is sel.ContainerName looked up in pod
// when set, c otherwise. A cpu, memory or ephemeral-storage limit the
// container does not set falls back to the pod-level limit, then to
// nodeAllocatable, as the kubelet does.
func ResourceFieldValue(sel *corev1.ResourceFieldSelector, pod *corev1.Pod, c *corev1.Container, nodeAllocatable corev1.ResourceList) (string, error) {
	if sel.ContainerName != "" {
		c = findContainer(pod, sel.ContainerName)
		if c == nil {
			return "", configErrorf("container %s not found", sel.ContainerName)
		}
	}
	if c == nil {
		return "", configErrorf("resourceFieldRef %s: containerName is required", sel.Resource)
	}
	divisor := sel.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, name, ok := strings.Cut(sel.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", configErrorf("unsupported container resource : %v", sel.Resource)
	}
	rn := corev1.ResourceName(name)
	switch {
	case rn == corev1.ResourceCPU:
		q := containerQuantity(kind, rn, pod, c, nodeAllocatable)
		return ceilDiv(float64(q.MilliValue()), float64(divisor.MilliValue())), nil
	case rn == corev1.ResourceMemory, rn == corev1.ResourceEphemeralStorage,
		strings.HasPrefix(name, corev1.ResourceHugePagesPrefix):
		q := containerQuantity(kind, rn, pod, c, nodeAllocatable)
		return ceilDiv(float64(q.Value()), float64(divisor.Value())), nil
	}
	return "", configErrorf("unsupported container resource : %v", sel.Resource)
}

func ceilDiv(v, d float64) string {
	if d == 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(v/d)), 10)
}

// containerQuantity is c's request or limit for rn, with the kubelet's
// defaults for unset cpu/memory/ephemeral-storage limits.
func containerQuantity(kind string, rn corev1.ResourceName, pod *corev1.Pod, c *corev1.Container, nodeAllocatable corev1.ResourceList) resource.Quantity {
	if kind == "requests" {
		return c.Resources.Requests[rn]
	}
	if q, ok := c.Resources.Limits[rn]; ok && !q.IsZero() {
		return q
	}
	switch rn {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
	default:
		return resource.Quantity{}
	}
	if rn != corev1.ResourceEphemeralStorage && pod != nil && pod.Spec.Resources != nil {
		if q, ok := pod.Spec.Resources.Limits[rn]; ok && !q.IsZero() {
			return q
		}
	}
	return nodeAllocatable[rn]
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	if pod == nil {
		return nil
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
