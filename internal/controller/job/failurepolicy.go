package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// matchFailurePolicy returns the action of the first podFailurePolicy rule
// a failed pod matches, with a message saying why for FailJob; ok is false
// if no rule matches (the failure counts towards backoffLimit).
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, p *corev1.Pod) (action batchv1.PodFailurePolicyAction, msg string, ok bool) {
	if policy == nil {
		return "", "", false
	}
	for i, r := range policy.Rules {
		if r.OnExitCodes != nil {
			if c := matchExitCodes(r.OnExitCodes, p); c != nil {
				return r.Action, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
					c.Name, p.Namespace, p.Name, c.State.Terminated.ExitCode, r.Action, i), true
			}
		}
		for _, pat := range r.OnPodConditions {
			if hasPodCondition(p, pat) {
				return r.Action, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
					p.Namespace, p.Name, pat.Type, r.Action, i), true
			}
		}
	}
	return "", "", false
}

// matchExitCodes returns the first terminated container whose exit code
// matches the requirement; exit code 0 never matches.
func matchExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, p *corev1.Pod) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for i := range list {
			s := &list[i]
			if s.State.Terminated == nil || s.State.Terminated.ExitCode == 0 {
				continue
			}
			if req.ContainerName != nil && *req.ContainerName != s.Name {
				continue
			}
			in := slices.Contains(req.Values, s.State.Terminated.ExitCode)
			if in == (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) {
				return s
			}
		}
	}
	return nil
}

func hasPodCondition(p *corev1.Pod, pat batchv1.PodFailurePolicyOnPodConditionsPattern) bool {
	status := pat.Status
	if status == "" {
		status = corev1.ConditionTrue
	}
	for _, c := range p.Status.Conditions {
		if c.Type == pat.Type && c.Status == status {
			return true
		}
	}
	return false
}
