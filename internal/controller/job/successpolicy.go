package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
)

// matchSuccessPolicy returns the message of the first successPolicy rule
// an Indexed Job's succeeded indexes meet, or ok false.
func matchSuccessPolicy(j *batchv1.Job, succeeded map[int]bool) (msg string, ok bool) {
	n, hasCompletions := completions(j)
	if j.Spec.SuccessPolicy == nil || !indexed(j) || !hasCompletions || len(succeeded) == 0 {
		return "", false
	}
	for i, r := range j.Spec.SuccessPolicy.Rules {
		if ruleMet(r, succeeded, int(n)) {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// ruleMet reports whether the succeeded indexes meet a rule: all of its
// succeededIndexes, or succeededCount of them (of any index when the rule
// names none).
func ruleMet(r batchv1.SuccessPolicyRule, succeeded map[int]bool, completions int) bool {
	if r.SucceededIndexes == nil {
		return r.SucceededCount != nil && len(succeeded) >= int(*r.SucceededCount)
	}
	required := parseIndexes(*r.SucceededIndexes, completions)
	if len(required) == 0 {
		return false
	}
	have := 0
	for i := range required {
		if succeeded[i] {
			have++
		}
	}
	if r.SucceededCount != nil {
		return have >= int(*r.SucceededCount)
	}
	return have == len(required)
}
