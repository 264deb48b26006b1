package batch

import (
	"fmt"
	"maps"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

// The unprefixed labels Jobs have always put on their pods, next to the
// batch.kubernetes.io/ ones.
const (
	legacyControllerUIDLabel = "controller-uid"
	legacyJobNameLabel       = "job-name"
)

var jobStrategy = registry.Strategy{
	Default:          func(obj runtime.Object) { defaultJob(obj.(*batchv1.Job)) },
	PrepareForCreate: func(obj runtime.Object) { generateSelector(obj.(*batchv1.Job)) },
	Validate:         func(obj runtime.Object) field.ErrorList { return validateJob(obj.(*batchv1.Job)) },
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return validateJobUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
	},
	ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
		return validateJobStatus(obj.(*batchv1.Job), field.NewPath("status"))
	},
}

func int32Ptr(v int32) *int32 { return &v }

// defaultJob applies the batch/v1 Job defaults.
func defaultJob(j *batchv1.Job) {
	spec := &j.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = int32Ptr(1)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = int32Ptr(1)
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = int32Ptr(1<<31 - 1)
		} else {
			spec.BackoffLimit = int32Ptr(6)
		}
	}
	if spec.Template.Labels != nil && len(j.Labels) == 0 {
		j.Labels = maps.Clone(spec.Template.Labels)
	}
	if spec.CompletionMode == nil {
		m := batchv1.NonIndexedCompletion
		spec.CompletionMode = &m
	}
	if spec.Suspend == nil {
		spec.Suspend = new(bool)
	}
	if spec.PodReplacementPolicy == nil {
		p := batchv1.TerminatingOrFailed
		if spec.PodFailurePolicy != nil {
			p = batchv1.Failed
		}
		spec.PodReplacementPolicy = &p
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = new(bool)
	}
	defaultJobSpecFields(spec)
}

// defaultJobSpecFields applies the field defaults every job spec gets, in a
// Job or in a CronJob's template.
func defaultJobSpecFields(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for _, r := range spec.PodFailurePolicy.Rules {
			for i := range r.OnPodConditions {
				if r.OnPodConditions[i].Status == "" {
					r.OnPodConditions[i].Status = corev1.ConditionTrue
				}
			}
		}
	}
	core.DefaultPodTemplateSpec(&spec.Template)
}

// generateSelector selects the job's own pods by its UID unless the client
// chose a manual selector, and labels the template to match. Labels the
// client already set are kept; validation rejects conflicts.
func generateSelector(j *batchv1.Job) {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return
	}
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	uid := string(j.UID)
	for k, v := range map[string]string{
		legacyJobNameLabel: j.Name, batchv1.JobNameLabel: j.Name,
		legacyControllerUIDLabel: uid, batchv1.ControllerUidLabel: uid,
	} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = v
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = uid
	}
}

func validateJob(j *batchv1.Job) field.ErrorList {
	errs := validateGeneratedSelector(j)
	p := field.NewPath("spec")
	errs = append(errs, validateJobSpec(&j.Spec, p)...)
	if j.Spec.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabelSelector(j.Spec.Selector,
			metavalidation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector); err == nil && !sel.Matches(labels.Set(j.Spec.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), j.Spec.Template.Labels,
			"`selector` does not match template `labels`"))
	}
	if isIndexed(&j.Spec) && j.Spec.Completions != nil && *j.Spec.Completions > 0 {
		// Pods get the hostname <job>-<index>, which must be a DNS label.
		host := fmt.Sprintf("%s-%d", j.Name, *j.Spec.Completions-1)
		if len(utilvalidation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), j.Name,
				"will not able to create pod with invalid DNS label: "+host))
		}
	}
	return errs
}

// validateGeneratedSelector checks that a generated selector and the
// template labels still name this job.
func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	if (j.Spec.ManualSelector != nil && *j.Spec.ManualSelector) || j.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if j.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	mp := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		legacyControllerUIDLabel: string(j.UID), legacyJobNameLabel: j.Name,
		batchv1.ControllerUidLabel: string(j.UID), batchv1.JobNameLabel: j.Name,
	}
	for _, k := range []string{legacyControllerUIDLabel, legacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		errs = append(errs, hasLabel(j.Spec.Template.Labels, mp, k, expected[k])...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func hasLabel(l map[string]string, meta *field.Path, key, want string) field.ErrorList {
	got, ok := l[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(meta.Child("labels").Key(key), fmt.Sprintf("must be '%s'", want))}
	case got != want:
		return field.ErrorList{field.Invalid(meta.Child("labels").Key(key), l, fmt.Sprintf("must be '%s'", want))}
	}
	return nil
}

// validateJobUpdate keeps what a running job depends on.
func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateCompletionsUpdate(&j.Spec, &old.Spec, p)
	errs = append(errs, apivalidation.ValidateImmutableField(j.Spec.Selector, old.Spec.Selector, p.Child("selector"))...)
	errs = append(errs, validateJobTemplateUpdate(j, old, p)...)
	immutable := []struct {
		name     string
		cur, was interface{}
	}{
		{"completionMode", j.Spec.CompletionMode, old.Spec.CompletionMode},
		{"podFailurePolicy", j.Spec.PodFailurePolicy, old.Spec.PodFailurePolicy},
		{"backoffLimitPerIndex", j.Spec.BackoffLimitPerIndex, old.Spec.BackoffLimitPerIndex},
		{"managedBy", j.Spec.ManagedBy, old.Spec.ManagedBy},
		{"successPolicy", j.Spec.SuccessPolicy, old.Spec.SuccessPolicy},
	}
	for _, f := range immutable {
		errs = append(errs, apivalidation.ValidateImmutableField(f.cur, f.was, p.Child(f.name))...)
	}
	return errs
}

// validateCompletionsUpdate: completions are fixed, but an Indexed job may
// be resized with completions and parallelism moving together.
func validateCompletionsUpdate(spec, old *batchv1.JobSpec, p *field.Path) field.ErrorList {
	cp := p.Child("completions")
	if !isIndexed(spec) {
		return apivalidation.ValidateImmutableField(spec.Completions, old.Completions, cp)
	}
	if apiequality.Semantic.DeepEqual(spec.Completions, old.Completions) || spec.Completions == nil {
		return nil
	}
	if spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		return field.ErrorList{field.Invalid(cp, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateJobTemplateUpdate keeps the template, but lets a job that is
// suspended and never started change where and how its pods get scheduled.
func validateJobTemplateUpdate(j, old *batchv1.Job, p *field.Path) field.ErrorList {
	t, was := &j.Spec.Template, &old.Spec.Template
	if old.Spec.Suspend != nil && *old.Spec.Suspend && old.Status.StartTime == nil {
		was = was.DeepCopy()
		switch {
		case t.Spec.Affinity == nil && was.Spec.Affinity != nil:
			was.Spec.Affinity.NodeAffinity = nil
			if *was.Spec.Affinity == (corev1.Affinity{}) {
				was.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && was.Spec.Affinity == nil:
			was.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && was.Spec.Affinity != nil:
			was.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		was.Spec.NodeSelector = t.Spec.NodeSelector
		was.Spec.Tolerations = t.Spec.Tolerations
		was.Annotations = t.Annotations
		was.Labels = t.Labels
		was.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	return apivalidation.ValidateImmutableField(t, was, p.Child("template"))
}

func validateJobStatus(j *batchv1.Job, p *field.Path) field.ErrorList {
	s := &j.Status
	errs := nonNegative(&s.Active, p.Child("active"))
	errs = append(errs, nonNegative(&s.Succeeded, p.Child("succeeded"))...)
	errs = append(errs, nonNegative(&s.Failed, p.Child("failed"))...)
	errs = append(errs, nonNegative(s.Ready, p.Child("ready"))...)
	errs = append(errs, nonNegative(s.Terminating, p.Child("terminating"))...)
	if u := s.UncountedTerminatedPods; u != nil {
		seen := map[string]bool{}
		up := p.Child("uncountedTerminatedPods")
		for _, list := range []struct {
			name string
			uids []string
		}{{"succeeded", uidStrings(u.Succeeded)}, {"failed", uidStrings(u.Failed)}} {
			for i, uid := range list.uids {
				ip := up.Child(list.name).Index(i)
				switch {
				case uid == "":
					errs = append(errs, field.Invalid(ip, uid, "must not be empty"))
				case seen[uid]:
					errs = append(errs, field.Duplicate(ip, uid))
				}
				seen[uid] = true
			}
		}
	}
	if j.Spec.Completions != nil && s.CompletedIndexes != "" {
		if _, err := countIndexes(s.CompletedIndexes, *j.Spec.Completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes,
				"error parsing completedIndexes: "+err.Error()))
		}
	}
	return errs
}

func uidStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// jobStatusText is the STATUS column: the terminal condition, else
// Terminating, Suspended, FailureTarget or Running.
func jobStatusText(j *batchv1.Job) string {
	has := func(t batchv1.JobConditionType) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == t {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	switch {
	case has(batchv1.JobComplete):
		return "Complete"
	case has(batchv1.JobFailed):
		return "Failed"
	case j.DeletionTimestamp != nil:
		return "Terminating"
	case has(batchv1.JobSuspended):
		return "Suspended"
	case has(batchv1.JobFailureTarget):
		return "FailureTarget"
	}
	return "Running"
}

func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	if j.Spec.Parallelism != nil && *j.Spec.Parallelism > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, *j.Spec.Parallelism)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

func jobDuration(j *batchv1.Job) string {
	switch {
	case j.Status.StartTime == nil:
		return ""
	case j.Status.CompletionTime == nil:
		return registry.ShortAge(time.Since(j.Status.StartTime.Time))
	}
	return registry.ShortAge(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
}

var jobTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Status", "string", 0, "Status of the job."),
		registry.Column("Completions", "string", 0, batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		registry.Column("Duration", "string", 0, "Time required to complete the job."),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
		registry.Column("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		j := obj.(*batchv1.Job)
		names, images := containerCells(&j.Spec.Template)
		return []interface{}{
			j.Name, jobStatusText(j), jobCompletions(j), jobDuration(j), registry.Age(j.CreationTimestamp),
			names, images, metav1.FormatLabelSelector(j.Spec.Selector),
		}
	},
}
