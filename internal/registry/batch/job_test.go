package batch

import (
	"reflect"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// createdJob runs a job through the create hooks as the server does.
func createdJob(mutate func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "1234-5678",
			CreationTimestamp: tenMinutesAgo()},
		Spec: batchv1.JobSpec{Template: jobPodTemplate()},
	}
	if mutate != nil {
		mutate(j)
	}
	jobStrategy.Default(j)
	jobStrategy.PrepareForCreate(j)
	return j
}

func TestJobDefaults(t *testing.T) {
	j := &batchv1.Job{Spec: batchv1.JobSpec{Template: jobPodTemplate()}}
	j.Spec.Template.Labels = map[string]string{"app": "pi"}
	jobStrategy.Default(j)
	s := j.Spec
	if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.Suspend || *s.ManualSelector {
		t.Errorf("spec %+v", s)
	}
	if *s.CompletionMode != batchv1.NonIndexedCompletion || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("completion mode %s, replacement %s", *s.CompletionMode, *s.PodReplacementPolicy)
	}
	if j.Labels["app"] != "pi" {
		t.Errorf("labels %v not copied from the template", j.Labels)
	}
	again := j.DeepCopy()
	jobStrategy.Default(again)
	if !reflect.DeepEqual(again, j) {
		t.Error("defaulting is not idempotent")
	}

	// Parallel work queue: completions stay unset.
	p := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: int32Ptr(3),
		PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
			Action:          batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}}}}}}
	jobStrategy.Default(p)
	if p.Spec.Completions != nil || *p.Spec.PodReplacementPolicy != batchv1.Failed ||
		p.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status != corev1.ConditionTrue {
		t.Errorf("work queue defaults %+v", p.Spec)
	}
	b := &batchv1.Job{Spec: batchv1.JobSpec{BackoffLimitPerIndex: int32Ptr(1)}}
	jobStrategy.Default(b)
	if *b.Spec.BackoffLimit != 1<<31-1 {
		t.Errorf("backoffLimit %d with a per-index limit", *b.Spec.BackoffLimit)
	}
}

func TestJobGeneratedSelector(t *testing.T) {
	j := createdJob(nil)
	want := map[string]string{"controller-uid": "1234-5678", "job-name": "pi",
		batchv1.ControllerUidLabel: "1234-5678", batchv1.JobNameLabel: "pi"}
	if !reflect.DeepEqual(j.Spec.Template.Labels, want) {
		t.Errorf("template labels %v", j.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(j.Spec.Selector.MatchLabels, map[string]string{batchv1.ControllerUidLabel: "1234-5678"}) {
		t.Errorf("selector %v", j.Spec.Selector)
	}
	registrytest.ExpectValid(t, jobStrategy.Validate(j))

	m := createdJob(func(j *batchv1.Job) {
		j.Spec.ManualSelector = new(bool)
		*j.Spec.ManualSelector = true
		j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}}
		j.Spec.Template.Labels = map[string]string{"app": "pi"}
	})
	if len(m.Spec.Template.Labels) != 1 || len(m.Spec.Selector.MatchLabels) != 1 {
		t.Errorf("manual selector was extended: %v %v", m.Spec.Template.Labels, m.Spec.Selector)
	}
	registrytest.ExpectValid(t, jobStrategy.Validate(m))
}

func TestJobValidate(t *testing.T) {
	valid := map[string]func(*batchv1.Job){
		"on failure": func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
		"indexed": func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			j.Spec.CompletionMode, j.Spec.Completions, j.Spec.BackoffLimitPerIndex = &m, int32Ptr(5), int32Ptr(1)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{
				{SucceededIndexes: strPtr("0,2-4"), SucceededCount: int32Ptr(2)}}}
		},
		"pod failure policy": func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: strPtr("pi"),
					Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 42}}}}}
			j.Spec.PodReplacementPolicy = nil
		},
		"ttl": func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = int32Ptr(0) },
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) { registrytest.ExpectValid(t, jobStrategy.Validate(createdJob(mutate))) })
	}

	cases := append(jobInvalidCases(), jobSelectorInvalidCases()...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := createdJob(nil)
			c.mutate(j)
			registrytest.ExpectContains(t, jobStrategy.Validate(j), c.want)
		})
	}
}

func strPtr(s string) *string { return &s }

func TestJobUpdate(t *testing.T) {
	old := createdJob(nil)
	j := old.DeepCopy()
	*j.Spec.Suspend = true
	j.Spec.Parallelism = int32Ptr(4)
	j.Spec.ActiveDeadlineSeconds = new(int64)
	registrytest.ExpectValid(t, jobStrategy.ValidateUpdate(j, old))

	cases := []invalidCase[*batchv1.Job]{
		{"completions", func(j *batchv1.Job) { j.Spec.Completions = int32Ptr(3) },
			registrytest.Invalid("spec.completions", "field is immutable")},
		{"selector", func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["x"] = "y" },
			registrytest.Invalid("spec.selector", "field is immutable")},
		{"template", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:6" },
			registrytest.Invalid("spec.template", "field is immutable")},
		{"node selector of a running job", func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"a": "b"} },
			registrytest.Invalid("spec.template", "field is immutable")},
		{"completion mode", func(j *batchv1.Job) { m := batchv1.IndexedCompletion; j.Spec.CompletionMode = &m },
			registrytest.Invalid("spec.completionMode", "field is immutable")},
		{"managed by", func(j *batchv1.Job) { j.Spec.ManagedBy = strPtr("example.com/queue") },
			registrytest.Invalid("spec.managedBy", "field is immutable")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := old.DeepCopy()
			c.mutate(j)
			registrytest.ExpectContains(t, jobStrategy.ValidateUpdate(j, old), c.want)
		})
	}

	// A suspended job that never ran may move its pods.
	suspended := createdJob(func(j *batchv1.Job) { j.Spec.Suspend = new(bool); *j.Spec.Suspend = true })
	j = suspended.DeepCopy()
	j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "spot", Operator: corev1.TolerationOpExists}}
	j.Spec.Template.Annotations = map[string]string{"queue": "x"}
	registrytest.ExpectValid(t, jobStrategy.ValidateUpdate(j, suspended))
	j.Spec.Template.Spec.Containers[0].Image = "perl:6"
	registrytest.ExpectContains(t, jobStrategy.ValidateUpdate(j, suspended), registrytest.Invalid("spec.template", ""))
	started := suspended.DeepCopy()
	started.Status.StartTime = &metav1.Time{Time: time.Now()}
	j = started.DeepCopy()
	j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	registrytest.ExpectContains(t, jobStrategy.ValidateUpdate(j, started), registrytest.Invalid("spec.template", ""))

	// Indexed jobs scale completions with parallelism.
	indexed := createdJob(func(j *batchv1.Job) {
		m := batchv1.IndexedCompletion
		j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Parallelism = &m, int32Ptr(3), int32Ptr(3)
	})
	j = indexed.DeepCopy()
	j.Spec.Completions, j.Spec.Parallelism = int32Ptr(5), int32Ptr(5)
	registrytest.ExpectValid(t, jobStrategy.ValidateUpdate(j, indexed))
	j.Spec.Parallelism = int32Ptr(4)
	registrytest.ExpectContains(t, jobStrategy.ValidateUpdate(j, indexed),
		registrytest.Invalid("spec.completions", "can only be modified in tandem with spec.parallelism"))
}

func TestJobStatus(t *testing.T) {
	j := createdJob(nil)
	j.Status = batchv1.JobStatus{Active: 1, CompletedIndexes: "0",
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"a"}, Failed: []types.UID{"b"}}}
	registrytest.ExpectValid(t, jobStrategy.ValidateStatus(j, j))
	j.Status.Failed = -1
	j.Status.UncountedTerminatedPods.Failed = []types.UID{"a"}
	j.Status.CompletedIndexes = "7"
	errs := jobStrategy.ValidateStatus(j, j)
	registrytest.ExpectContains(t, errs, registrytest.Invalid("status.failed", ""))
	registrytest.ExpectContains(t, errs, registrytest.Duplicate("status.uncountedTerminatedPods.failed[0]", ""))
	registrytest.ExpectContains(t, errs, registrytest.Invalid("status.completedIndexes", "too large index"))
}

func TestJobTable(t *testing.T) {
	registrytest.ExpectColumns(t, jobTable, []string{"Name", "Status", "Completions", "Duration", "Age",
		"Containers", "Images", "Selector"}, 3)
	j := createdJob(nil)
	start := metav1.NewTime(time.Now().Add(-time.Hour))
	end := metav1.NewTime(start.Add(90 * time.Second))
	j.Status = batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &end,
		Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	registrytest.ExpectRow(t, jobTable, jobTable.Row(j), []interface{}{"pi", "Complete", "1/1", "90s", "10m", "pi", "perl:5.34",
		"batch.kubernetes.io/controller-uid=1234-5678"})

	w := createdJob(func(j *batchv1.Job) { j.Spec.Parallelism = int32Ptr(3) })
	w.Status = batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}}
	row := jobTable.Row(w)
	if row[1] != "Suspended" || row[2] != "0/1 of 3" || row[3] != "" {
		t.Errorf("work queue row %v", row)
	}
	w.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionFalse}}
	if got := jobTable.Row(w)[1]; got != "Running" {
		t.Errorf("status %q", got)
	}
}

// jobInvalidCases lists invalid objects and the error each must get.
func jobInvalidCases() []invalidCase[*batchv1.Job] {
	rp := "spec.template.spec.restartPolicy"
	pfr := "spec.podFailurePolicy.rules[0]"
	return []invalidCase[*batchv1.Job]{
		{"restart always", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			registrytest.Required(rp, `valid values: "OnFailure", "Never"`)},
		{"restart unset", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			registrytest.Required(rp, "")},
		{"restart other", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" },
			registrytest.NotSupported(rp, "")},
		{"negative parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = int32Ptr(-1) },
			registrytest.Invalid("spec.parallelism", "must be greater than or equal to 0")},
		{"negative completions", func(j *batchv1.Job) { j.Spec.Completions = int32Ptr(-1) },
			registrytest.Invalid("spec.completions", "")},
		{"negative deadline", func(j *batchv1.Job) { v := int64(-1); j.Spec.ActiveDeadlineSeconds = &v },
			registrytest.Invalid("spec.activeDeadlineSeconds", "")},
		{"negative backoff", func(j *batchv1.Job) { j.Spec.BackoffLimit = int32Ptr(-1) },
			registrytest.Invalid("spec.backoffLimit", "")},
		{"negative ttl", func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = int32Ptr(-1) },
			registrytest.Invalid("spec.ttlSecondsAfterFinished", "")},
		{"indexed without completions", func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Parallelism = &m, nil, int32Ptr(2)
		}, registrytest.Required("spec.completions", "when completion mode is Indexed")},
		{"completion mode", func(j *batchv1.Job) { m := batchv1.CompletionMode("Sorted"); j.Spec.CompletionMode = &m },
			registrytest.NotSupported("spec.completionMode", "")},
		{"per-index limit not indexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = int32Ptr(1) },
			registrytest.Invalid("spec.backoffLimitPerIndex", "requires indexed completion mode")},
		{"max failed without per-index", func(j *batchv1.Job) { j.Spec.MaxFailedIndexes = int32Ptr(1) },
			registrytest.Required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified")},
		{"success policy not indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: int32Ptr(1)}}}
		}, registrytest.Invalid("spec.successPolicy", "requires indexed completion mode")},
		{"bad succeeded indexes", func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			j.Spec.CompletionMode, j.Spec.Completions = &m, int32Ptr(3)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: strPtr("2,1")}}}
		}, registrytest.Invalid("spec.successPolicy.rules[0].succeededIndexes", "non-increasing order")},
		{"replacement policy", func(j *batchv1.Job) { p := batchv1.PodReplacementPolicy("Never"); j.Spec.PodReplacementPolicy = &p },
			registrytest.NotSupported("spec.podReplacementPolicy", "")},
		{"pod failure policy with on failure", func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: "True"}}}}}
		}, registrytest.Invalid(rp, `only "Never" is supported when podFailurePolicy is specified`)},
		{"pod failure rule without requirement", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: "Retry"}}}
		}, registrytest.Invalid(pfr, "specifying one of OnExitCodes and OnPodConditions is required")},
		{"pod failure action", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: "Retry"}}}
		}, registrytest.NotSupported(pfr+".action", "")},
		{"exit codes", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: strPtr("other"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3, 0}}}}}
		}, registrytest.Invalid(pfr+".onExitCodes.values[1]", "must not be 0 for the In operator")},
		{"exit code container", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: strPtr("other"), Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{3}}}}}
		}, registrytest.Invalid(pfr+".onExitCodes.containerName", "must be one of the container")},
	}
}

// jobSelectorInvalidCases lists invalid selectors and generated labels.
func jobSelectorInvalidCases() []invalidCase[*batchv1.Job] {
	return []invalidCase[*batchv1.Job]{
		{"no selector", func(j *batchv1.Job) { *j.Spec.ManualSelector = true; j.Spec.Selector = nil },
			registrytest.Required("spec.selector", "")},
		{"manual selector mismatch", func(j *batchv1.Job) {
			*j.Spec.ManualSelector = true
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, registrytest.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")},
		{"generated label changed", func(j *batchv1.Job) { j.Spec.Template.Labels["job-name"] = "other" },
			registrytest.Invalid("spec.template.metadata.labels[job-name]", "must be 'pi'")},
		{"generated label removed", func(j *batchv1.Job) { delete(j.Spec.Template.Labels, batchv1.ControllerUidLabel) },
			registrytest.Required("spec.template.metadata.labels[batch.kubernetes.io/controller-uid]", "must be '1234-5678'")},
		{"foreign selector", func(j *batchv1.Job) { j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = "other" },
			registrytest.Invalid("spec.selector", "`selector` not auto-generated")},
		{"indexed pod hostname", func(j *batchv1.Job) {
			m := batchv1.IndexedCompletion
			j.Name = "a-very-long-job-name-that-leaves-no-room-for-the-index-suffix-x"
			j.Spec.CompletionMode, j.Spec.Completions = &m, int32Ptr(10)
		}, registrytest.Invalid("metadata.name", "will not able to create pod with invalid DNS label")},
	}
}
