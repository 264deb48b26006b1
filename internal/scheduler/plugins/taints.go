package plugins

import (
	corev1 "k8s.io/api/core/v1"
)

// toleratesTaint says the toleration tolerates the taint: an empty effect
// or key matches any, operator Exists any value, Equal (or none) the same
// value.
func toleratesTaint(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		return t.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// tolerated says some toleration tolerates the taint.
func tolerated(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if toleratesTaint(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// untoleratedTaint returns the node's first NoSchedule or NoExecute taint
// the pod does not tolerate.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) (*corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(tolerations, t) {
			return t, true
		}
	}
	return nil, false
}
