package batch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry/core"
)

// The rules of a job spec, shared by Jobs and the job templates of CronJobs.

const (
	maxParallelismIndexed      = 100000
	maxFailedIndexesIndexed    = 100000
	completionsSoftLimit       = 100000
	parallelismHighCompletions = 10000
	maxFailedHighCompletions   = 10000
	maxPodFailureRules         = 20
	maxExitCodeValues          = 255
	maxPodConditionPatterns    = 20
	maxManagedByLength         = 63
	maxSucceededIndexesLength  = 64 * 1024
	maxSuccessRules            = 20
)

var (
	podFailureActions = []string{string(batchv1.PodFailurePolicyActionCount), string(batchv1.PodFailurePolicyActionFailIndex),
		string(batchv1.PodFailurePolicyActionFailJob), string(batchv1.PodFailurePolicyActionIgnore)}
	exitCodeOperators  = []string{string(batchv1.PodFailurePolicyOnExitCodesOpIn), string(batchv1.PodFailurePolicyOnExitCodesOpNotIn)}
	conditionStatuses  = []string{string(corev1.ConditionFalse), string(corev1.ConditionTrue), string(corev1.ConditionUnknown)}
	replacementPolices = []string{string(batchv1.Failed), string(batchv1.TerminatingOrFailed)}
)

func nonNegative(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return apivalidation.ValidateNonnegativeField(int64(*v), p)
}

func isIndexed(spec *batchv1.JobSpec) bool {
	return spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
}

// validateJobSpec checks everything of a job spec but its selector.
func validateJobSpec(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	errs := nonNegative(spec.Parallelism, p.Child("parallelism"))
	errs = append(errs, nonNegative(spec.Completions, p.Child("completions"))...)
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	errs = append(errs, nonNegative(spec.BackoffLimit, p.Child("backoffLimit"))...)
	errs = append(errs, nonNegative(spec.TTLSecondsAfterFinished, p.Child("ttlSecondsAfterFinished"))...)
	errs = append(errs, nonNegative(spec.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, nonNegative(spec.MaxFailedIndexes, p.Child("maxFailedIndexes"))...)
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if spec.ManagedBy != nil {
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(p.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLongMaxLength(p.Child("managedBy"), *spec.ManagedBy, maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, p)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, p.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !isIndexed(spec) {
			errs = append(errs, field.Invalid(p.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, p.Child("successPolicy"))...)
		}
	}
	errs = append(errs, validatePodReplacementPolicy(spec, p.Child("podReplacementPolicy"))...)
	errs = append(errs, core.ValidatePodTemplateSpec(&spec.Template, p.Child("template"))...)
	return append(errs, validateJobRestartPolicy(spec, p.Child("template", "spec", "restartPolicy"))...)
}

// validateJobRestartPolicy: job pods end, so they never restart Always.
func validateJobRestartPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	switch rp := spec.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		return field.ErrorList{field.Required(p, fmt.Sprintf("valid values: %q, %q",
			corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.NotSupported(p, rp, []corev1.RestartPolicy{
			corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(p, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified",
			corev1.RestartPolicyNever))}
	}
	return nil
}

func validateCompletionMode(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m := spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		errs = append(errs, field.NotSupported(p.Child("completionMode"), m,
			[]batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
	}
	if !isIndexed(spec) {
		if spec.CompletionMode == nil || *spec.CompletionMode == batchv1.NonIndexedCompletion {
			if spec.BackoffLimitPerIndex != nil {
				errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
			}
			if spec.MaxFailedIndexes != nil {
				errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
			}
		}
		return errs
	}
	return append(errs, validateIndexedLimits(spec, p)...)
}

// validateIndexedLimits caps what an Indexed job may ask for, so its status
// index lists stay bounded.
func validateIndexedLimits(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	pp, mp := p.Child("parallelism"), p.Child("maxFailedIndexes")
	if spec.Completions == nil {
		errs = append(errs, field.Required(p.Child("completions"), "when completion mode is Indexed"))
	}
	if spec.Parallelism != nil && *spec.Parallelism > maxParallelismIndexed {
		errs = append(errs, field.Invalid(pp, *spec.Parallelism,
			fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxParallelismIndexed)))
	}
	if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
		errs = append(errs, field.Invalid(mp, *spec.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesIndexed {
		errs = append(errs, field.Invalid(mp, *spec.MaxFailedIndexes,
			fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesIndexed)))
	}
	if spec.Completions == nil || *spec.Completions <= completionsSoftLimit || spec.BackoffLimitPerIndex == nil {
		return errs
	}
	suffix := fmt.Sprintf("when completions are above %d and used with backoff limit per index", completionsSoftLimit)
	if spec.MaxFailedIndexes == nil {
		errs = append(errs, field.Required(mp, fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
	}
	if spec.Parallelism != nil && *spec.Parallelism > parallelismHighCompletions {
		errs = append(errs, field.Invalid(pp, *spec.Parallelism,
			fmt.Sprintf("must be less than or equal to %d %s", parallelismHighCompletions, suffix)))
	}
	if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedHighCompletions {
		errs = append(errs, field.Invalid(mp, *spec.MaxFailedIndexes,
			fmt.Sprintf("must be less than or equal to %d %s", maxFailedHighCompletions, suffix)))
	}
	return errs
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	rp := spec.PodReplacementPolicy
	switch {
	case rp == nil:
		return nil
	case spec.PodFailurePolicy != nil && *rp != batchv1.Failed:
		return field.ErrorList{field.NotSupported(p, *rp, []string{string(batchv1.Failed)})}
	case spec.PodFailurePolicy == nil && !slices.Contains(replacementPolices, string(*rp)):
		return field.ErrorList{field.NotSupported(p, *rp, replacementPolices)}
	}
	return nil
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := spec.PodFailurePolicy.Rules
	if len(rules) > maxPodFailureRules {
		errs = append(errs, field.TooMany(p.Child("rules"), len(rules), maxPodFailureRules))
	}
	var containers []string
	for _, c := range spec.Template.Spec.Containers {
		containers = append(containers, c.Name)
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containers = append(containers, c.Name)
	}
	for i := range rules {
		errs = append(errs, validatePodFailureRule(spec, &rules[i], p.Child("rules").Index(i), containers)...)
	}
	return errs
}

func validatePodFailureRule(spec *batchv1.JobSpec, r *batchv1.PodFailurePolicyRule, p *field.Path, containers []string) field.ErrorList {
	var errs field.ErrorList
	ap := p.Child("action")
	switch {
	case r.Action == "":
		errs = append(errs, field.Required(ap, fmt.Sprintf("valid values: %q", podFailureActions)))
	case r.Action == batchv1.PodFailurePolicyActionFailIndex:
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(ap, r.Action, "requires the backoffLimitPerIndex to be set"))
		}
	case !slices.Contains(podFailureActions, string(r.Action)):
		errs = append(errs, field.NotSupported(ap, r.Action, podFailureActions))
	}
	if r.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(r.OnExitCodes, p.Child("onExitCodes"), containers)...)
	}
	if len(r.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(r.OnPodConditions, p.Child("onPodConditions"))...)
	}
	if r.OnExitCodes != nil && len(r.OnPodConditions) > 0 {
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	}
	if r.OnExitCodes == nil && len(r.OnPodConditions) == 0 {
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxPodConditionPatterns {
		errs = append(errs, field.TooMany(p, len(patterns), maxPodConditionPatterns))
	}
	for i, pat := range patterns {
		pp := p.Index(i)
		errs = append(errs, metavalidation.ValidateLabelName(string(pat.Type), pp.Child("type"))...)
		switch {
		case pat.Status == "":
			errs = append(errs, field.Required(pp.Child("status"), fmt.Sprintf("valid values: %q", conditionStatuses)))
		case !slices.Contains(conditionStatuses, string(pat.Status)):
			errs = append(errs, field.NotSupported(pp.Child("status"), pat.Status, conditionStatuses))
		}
	}
	return errs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, p *field.Path, containers []string) field.ErrorList {
	var errs field.ErrorList
	op := p.Child("operator")
	switch {
	case req.Operator == "":
		errs = append(errs, field.Required(op, fmt.Sprintf("valid values: %q", exitCodeOperators)))
	case !slices.Contains(exitCodeOperators, string(req.Operator)):
		errs = append(errs, field.NotSupported(op, req.Operator, exitCodeOperators))
	}
	if req.ContainerName != nil && !slices.Contains(containers, *req.ContainerName) {
		errs = append(errs, field.Invalid(p.Child("containerName"), *req.ContainerName,
			"must be one of the container or initContainer names in the pod template"))
	}
	vp := p.Child("values")
	if len(req.Values) == 0 {
		errs = append(errs, field.Invalid(vp, req.Values, "at least one value is required"))
	} else if len(req.Values) > maxExitCodeValues {
		errs = append(errs, field.TooMany(vp, len(req.Values), maxExitCodeValues))
	}
	seen, ordered := map[int32]bool{}, true
	for i, v := range req.Values {
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(vp.Index(i), v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(vp.Index(i), v))
		}
		seen[v] = true
		if i > 0 && req.Values[i-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(vp, req.Values, "must be ordered"))
	}
	return errs
}

func validateSuccessPolicy(spec *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules, rp := spec.SuccessPolicy.Rules, p.Child("rules")
	if len(rules) == 0 {
		errs = append(errs, field.Required(rp, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxSuccessRules))
	}
	completions := int32(0)
	if spec.Completions != nil {
		completions = *spec.Completions
	}
	for i := range rules {
		errs = append(errs, validateSuccessRule(&rules[i], completions, rp.Index(i))...)
	}
	return errs
}

func validateSuccessRule(r *batchv1.SuccessPolicyRule, completions int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.SucceededCount == nil && r.SucceededIndexes == nil {
		errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
	}
	var total int32
	if r.SucceededIndexes != nil {
		ip := p.Child("succeededIndexes")
		if len(*r.SucceededIndexes) > maxSucceededIndexesLength {
			errs = append(errs, field.TooLong(ip, *r.SucceededIndexes, maxSucceededIndexesLength))
		}
		var err error
		if total, err = countIndexes(*r.SucceededIndexes, completions); err != nil {
			errs = append(errs, field.Invalid(ip, *r.SucceededIndexes, "error parsing succeededIndexes: "+err.Error()))
		}
	}
	if r.SucceededCount != nil {
		cp := p.Child("succeededCount")
		errs = append(errs, nonNegative(r.SucceededCount, cp)...)
		if *r.SucceededCount > completions {
			errs = append(errs, field.Invalid(cp, *r.SucceededCount,
				fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
		}
		if r.SucceededIndexes != nil && *r.SucceededCount > total {
			errs = append(errs, field.Invalid(cp, *r.SucceededCount,
				fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
		}
	}
	return errs
}

// countIndexes parses an index list like "0,2-4,7" (increasing, each index
// below completions) and returns how many indexes it names.
func countIndexes(list string, completions int32) (int32, error) {
	if list == "" {
		return 0, nil
	}
	var total int32
	last := int64(-1)
	for _, interval := range strings.Split(list, ",") {
		bounds := strings.Split(interval, "-")
		if len(bounds) > 2 {
			return 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", interval)
		}
		first := int64(-1)
		for _, b := range bounds {
			n, err := strconv.ParseInt(b, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("cannot convert string to integer for index: %q", b)
			}
			if n >= int64(completions) {
				return 0, fmt.Errorf("too large index: %q", b)
			}
			if n <= last {
				return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", last, n)
			}
			if first < 0 {
				first = n
			}
			last = n
		}
		total += int32(last - first + 1)
	}
	return total, nil
}
