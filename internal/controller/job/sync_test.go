package job

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clienttesting "k8s.io/client-go/testing"
)

func TestCompletionsWithParallelism(t *testing.T) {
	f := newFixture(t, newJob("pi", ptr[int32](3), ptr[int32](2)))
	f.sync("pi")
	pods := f.running()
	if len(pods) != 2 {
		t.Fatalf("created %d pods, want 2", len(pods))
	}
	p := pods[0]
	if p.GenerateName != "pi-" || p.Labels[batchv1.JobNameLabel] != "pi" || p.Labels["controller-uid"] != "pi-uid" {
		t.Errorf("pod meta = %q %v", p.GenerateName, p.Labels)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "Job" || ref.UID != "pi-uid" {
		t.Errorf("controller ref = %+v", ref)
	}
	j := f.job("pi")
	if j.Status.Active != 2 || j.Status.StartTime == nil || *j.Status.Ready != 0 {
		t.Errorf("status = %+v", j.Status)
	}

	f.finish(pods[0], corev1.PodSucceeded, 0)
	f.sync("pi")
	if n := len(f.running()); n != 2 {
		t.Fatalf("running %d pods after one success, want 2", n)
	}
	for _, p := range f.running() {
		f.finish(p, corev1.PodSucceeded, 0)
	}
	f.sync("pi")
	j = f.job("pi")
	if j.Status.Succeeded != 3 || j.Status.Active != 0 || j.Status.CompletionTime == nil {
		t.Errorf("status = %+v", j.Status)
	}
	if !hasCondition(j, batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached) ||
		!hasCondition(j, batchv1.JobComplete, batchv1.JobReasonCompletionsReached) {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
	if ev := f.events(); !slices.Contains(ev, "Normal Completed Job completed") {
		t.Errorf("events = %q", ev)
	}
	f.sync("pi") // finished: nothing more
	if n := len(f.client.Actions()); n != 0 {
		t.Errorf("finished job: %d actions", n)
	}
}

func TestWorkQueueJobCompletesWhenAllStop(t *testing.T) {
	f := newFixture(t, newJob("q", nil, ptr[int32](2)))
	f.sync("q")
	pods := f.running()
	if len(pods) != 2 {
		t.Fatalf("created %d pods, want 2", len(pods))
	}
	f.finish(pods[0], corev1.PodSucceeded, 0)
	f.sync("q")
	if n := len(f.running()); n != 1 {
		t.Fatalf("running %d after a success, want 1 (no replacement)", n)
	}
	if hasCondition(f.job("q"), batchv1.JobComplete, batchv1.JobReasonCompletionsReached) {
		t.Fatal("complete while a pod runs")
	}
	f.finish(pods[1], corev1.PodSucceeded, 0)
	f.sync("q")
	if !hasCondition(f.job("q"), batchv1.JobComplete, batchv1.JobReasonCompletionsReached) {
		t.Errorf("conditions = %+v", f.job("q").Status.Conditions)
	}
}

func TestBackoffLimit(t *testing.T) {
	f := newFixture(t, newJob("b", ptr[int32](1), ptr[int32](1), func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr[int32](1) }))
	f.sync("b")
	f.finish(f.running()[0], corev1.PodFailed, 1)
	if next := f.sync("b"); next != initialBackoff {
		t.Errorf("requeue after %v, want %v", next, initialBackoff)
	}
	if n := len(f.running()); n != 0 {
		t.Fatalf("replaced a failed pod during back-off")
	}
	if j := f.job("b"); j.Status.Failed != 1 {
		t.Errorf("failed = %d", j.Status.Failed)
	}
	f.clock.Step(initialBackoff)
	f.sync("b")
	if n := len(f.running()); n != 1 {
		t.Fatalf("running %d after back-off, want 1", n)
	}
	f.finish(f.running()[0], corev1.PodFailed, 1)
	f.sync("b")
	j := f.job("b")
	if !hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) ||
		!hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded) || j.Status.Failed != 2 {
		t.Errorf("status = %+v", j.Status)
	}
	if c := findCondition(j.Status.Conditions, batchv1.JobFailed); c.Message != msgBackoffLimit {
		t.Errorf("message = %q", c.Message)
	}
	if ev := f.events(); !slices.Contains(ev, "Warning BackoffLimitExceeded "+msgBackoffLimit) {
		t.Errorf("events = %q", ev)
	}
}

func TestBackoffDoubles(t *testing.T) {
	st := &jobState{failuresSinceSuccess: 3, lastFailure: t0}
	if got := backoffRemaining(st, t0.Add(time.Second)); got != 39*time.Second {
		t.Errorf("3 failures: %v, want 39s", got)
	}
	st.failuresSinceSuccess = 20
	if got := backoffRemaining(st, t0); got != maxBackoff {
		t.Errorf("20 failures: %v, want %v", got, maxBackoff)
	}
}

func TestFailureDeletesActivePods(t *testing.T) {
	f := newFixture(t, newJob("d", ptr[int32](4), ptr[int32](2), func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr[int32](0) }))
	f.sync("d")
	pods := f.running()
	f.finish(pods[0], corev1.PodFailed, 1)
	f.sync("d")
	if n := len(f.running()); n != 0 {
		t.Fatalf("%d pods still running", n)
	}
	j := f.job("d")
	if !hasCondition(j, batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded) || findCondition(j.Status.Conditions, batchv1.JobFailed) != nil {
		t.Fatalf("conditions with a pod terminating = %+v", j.Status.Conditions)
	}
	if *j.Status.Terminating != 1 {
		t.Errorf("terminating = %d", *j.Status.Terminating)
	}
	f.removeDeleted()
	f.sync("d")
	if j := f.job("d"); !hasCondition(j, batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded) {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
}

func TestIndexed(t *testing.T) {
	f := newFixture(t, newJob("ix", ptr[int32](3), ptr[int32](2), func(j *batchv1.Job) {
		m := batchv1.IndexedCompletion
		j.Spec.CompletionMode = &m
	}))
	f.sync("ix")
	pods := f.running()
	if len(pods) != 2 {
		t.Fatalf("created %d pods, want 2", len(pods))
	}
	byIndex := map[int]*corev1.Pod{}
	for _, p := range pods {
		byIndex[podIndex(p)] = p
	}
	p0 := byIndex[0]
	if p0 == nil || byIndex[1] == nil {
		t.Fatalf("indexes = %v", byIndex)
	}
	if p0.Spec.Hostname != "ix-0" || !strings.HasPrefix(p0.Name, "ix-0-") || p0.Labels[batchv1.JobCompletionIndexAnnotation] != "0" {
		t.Errorf("pod 0 = %s hostname %q labels %v", p0.Name, p0.Spec.Hostname, p0.Labels)
	}
	env := p0.Spec.Containers[0].Env
	if len(env) != 1 || env[0].Name != indexEnv || env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env = %+v", env)
	}
	f.finish(byIndex[1], corev1.PodSucceeded, 0)
	f.sync("ix")
	if j := f.job("ix"); j.Status.CompletedIndexes != "1" || j.Status.Succeeded != 1 {
		t.Errorf("status = %+v", j.Status)
	}
	var idx []int
	for _, p := range f.running() {
		idx = append(idx, podIndex(p))
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{0, 2}) {
		t.Fatalf("running indexes %v, want [0 2]", idx)
	}
	for _, p := range f.running() {
		f.finish(p, corev1.PodSucceeded, 0)
	}
	f.sync("ix")
	j := f.job("ix")
	if j.Status.CompletedIndexes != "0-2" || !hasCondition(j, batchv1.JobComplete, batchv1.JobReasonCompletionsReached) {
		t.Errorf("status = %+v", j.Status)
	}
}

func TestIndexedReplacesFailedIndex(t *testing.T) {
	f := newFixture(t, newJob("ir", ptr[int32](2), ptr[int32](2), func(j *batchv1.Job) {
		m := batchv1.IndexedCompletion
		j.Spec.CompletionMode = &m
	}))
	f.sync("ir")
	for _, p := range f.running() {
		if podIndex(p) == 1 {
			f.finish(p, corev1.PodFailed, 1)
		}
	}
	f.clock.Step(initialBackoff)
	f.sync("ir")
	var idx []int
	for _, p := range f.running() {
		idx = append(idx, podIndex(p))
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []int{0, 1}) {
		t.Errorf("running indexes %v, want [0 1]", idx)
	}
}

func TestActiveDeadline(t *testing.T) {
	f := newFixture(t, newJob("dl", ptr[int32](1), ptr[int32](1), func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr[int64](60) }))
	if next := f.sync("dl"); next != time.Minute {
		t.Errorf("requeue after %v, want 1m", next)
	}
	f.clock.Step(time.Minute)
	f.sync("dl")
	if n := len(f.running()); n != 0 {
		t.Fatalf("%d pods still running", n)
	}
	f.removeDeleted()
	f.sync("dl")
	j := f.job("dl")
	c := findCondition(j.Status.Conditions, batchv1.JobFailed)
	if c == nil || c.Reason != batchv1.JobReasonDeadlineExceeded || c.Message != msgDeadline {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
}

func TestSuspend(t *testing.T) {
	f := newFixture(t, newJob("s", ptr[int32](2), ptr[int32](2), func(j *batchv1.Job) { j.Spec.Suspend = ptr(true) }))
	f.sync("s")
	j := f.job("s")
	if len(f.pods()) != 0 || j.Status.StartTime != nil || !hasCondition(j, batchv1.JobSuspended, "JobSuspended") {
		t.Fatalf("suspended: %d pods, status %+v", len(f.pods()), j.Status)
	}
	j.Spec.Suspend = ptr(false)
	f.updateJob(j)
	f.sync("s")
	j = f.job("s")
	c := findCondition(j.Status.Conditions, batchv1.JobSuspended)
	if len(f.running()) != 2 || j.Status.StartTime == nil || c.Status != corev1.ConditionFalse || c.Reason != "JobResumed" {
		t.Fatalf("resumed: %d pods, status %+v", len(f.running()), j.Status)
	}
	j.Spec.Suspend = ptr(true)
	f.updateJob(j)
	f.sync("s")
	if n := len(f.running()); n != 0 {
		t.Errorf("suspended again: %d pods running", n)
	}
	if j := f.job("s"); !hasCondition(j, batchv1.JobSuspended, "JobSuspended") || j.Status.Active != 0 {
		t.Errorf("status = %+v", j.Status)
	}
	ev := f.events()
	for _, want := range []string{"Normal Suspended Job suspended", "Normal Resumed Job resumed"} {
		if !slices.Contains(ev, want) {
			t.Errorf("events %q lack %q", ev, want)
		}
	}
}

func TestPodFailurePolicy(t *testing.T) {
	policy := func(j *batchv1.Job) {
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
		j.Spec.BackoffLimit = ptr[int32](0)
	}
	f := newFixture(t, newJob("pf", ptr[int32](1), ptr[int32](1), policy))
	f.sync("pf")
	f.finish(f.running()[0], corev1.PodFailed, 3)
	f.sync("pf")
	if j := f.job("pf"); j.Status.Failed != 0 || len(f.running()) != 1 {
		t.Fatalf("ignored failure: failed %d, running %d", j.Status.Failed, len(f.running()))
	}
	p := f.running()[0]
	f.finish(p, corev1.PodFailed, 42)
	f.sync("pf")
	j := f.job("pf")
	c := findCondition(j.Status.Conditions, batchv1.JobFailed)
	want := "Container c for pod default/" + p.Name + " failed with exit code 42 matching FailJob rule at index 1"
	if c == nil || c.Reason != batchv1.JobReasonPodFailurePolicy || c.Message != want {
		t.Errorf("conditions = %+v", j.Status.Conditions)
	}
}

func TestTTLAfterFinished(t *testing.T) {
	f := newFixture(t, newJob("t", ptr[int32](1), ptr[int32](1), func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr[int32](30) }))
	f.sync("t")
	f.finish(f.running()[0], corev1.PodSucceeded, 0)
	f.sync("t")
	if next := f.sync("t"); next != 30*time.Second {
		t.Errorf("requeue after %v, want 30s", next)
	}
	f.clock.Step(30 * time.Second)
	f.sync("t")
	var deleted bool
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "jobs" {
			d := a.(clienttesting.DeleteActionImpl)
			deleted = *d.DeleteOptions.PropagationPolicy == metav1.DeletePropagationForeground
		}
	}
	if !deleted {
		t.Errorf("job not deleted: %v", f.client.Actions())
	}
}

func TestParallelismLowered(t *testing.T) {
	f := newFixture(t, newJob("pl", ptr[int32](5), ptr[int32](3)))
	f.sync("pl")
	j := f.job("pl")
	j.Spec.Parallelism = ptr[int32](1)
	f.updateJob(j)
	f.sync("pl")
	if n := len(f.running()); n != 1 {
		t.Errorf("running %d, want 1", n)
	}
	if _, err := f.client.BatchV1().Jobs(ns).Get(context.Background(), "pl", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestFormatIndexes(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2, 4}, "0-2,4"}, {[]int{7, 3, 5, 4, 9}, "3-5,7,9"},
	} {
		set := map[int]bool{}
		for _, i := range tc.in {
			set[i] = true
		}
		got := formatIndexes(set)
		if got != tc.want {
			t.Errorf("formatIndexes(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back := formatIndexes(parseIndexes(got, 100)); back != tc.want {
			t.Errorf("round trip of %q = %q", got, back)
		}
	}
}

func TestSuccessPolicy(t *testing.T) {
	f := newFixture(t, newJob("sp", ptr[int32](3), ptr[int32](3), func(j *batchv1.Job) {
		m := batchv1.IndexedCompletion
		j.Spec.CompletionMode = &m
		j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr("0")}}}
	}))
	f.sync("sp")
	for _, p := range f.running() {
		if podIndex(p) == 0 {
			f.finish(p, corev1.PodSucceeded, 0)
		}
	}
	f.sync("sp")
	j := f.job("sp")
	c := findCondition(j.Status.Conditions, batchv1.JobSuccessCriteriaMet)
	if c == nil || c.Reason != batchv1.JobReasonSuccessPolicy || c.Message != "Matched rules at index 0" {
		t.Fatalf("conditions = %+v", j.Status.Conditions)
	}
	if n := len(f.running()); n != 0 {
		t.Fatalf("%d pods still running", n)
	}
	f.sync("sp") // the deleted pods are released, not failures
	f.removeDeleted()
	f.sync("sp")
	j = f.job("sp")
	if !hasCondition(j, batchv1.JobComplete, batchv1.JobReasonSuccessPolicy) || j.Status.Failed != 0 || j.Status.CompletedIndexes != "0" {
		t.Errorf("status = %+v", j.Status)
	}
}

func TestResumeRestartsDeadline(t *testing.T) {
	f := newFixture(t, newJob("rd", ptr[int32](1), ptr[int32](1), func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = ptr[int64](60)
	}))
	f.sync("rd")
	j := f.job("rd")
	j.Spec.Suspend = ptr(true)
	f.updateJob(j)
	f.sync("rd")
	f.clock.Step(2 * time.Minute)
	j = f.job("rd")
	j.Spec.Suspend = ptr(false)
	f.updateJob(j)
	if next := f.sync("rd"); next != time.Minute {
		t.Errorf("requeue after %v, want 1m", next)
	}
	j = f.job("rd")
	if finished(j) != nil || findCondition(j.Status.Conditions, batchv1.JobFailureTarget) != nil || len(f.running()) != 1 {
		t.Errorf("resumed job: status %+v, %d running", j.Status, len(f.running()))
	}
}

func TestBackoffLimitPerIndex(t *testing.T) {
	f := newFixture(t, newJob("pi", ptr[int32](2), ptr[int32](2), func(j *batchv1.Job) {
		m := batchv1.IndexedCompletion
		j.Spec.CompletionMode = &m
		j.Spec.BackoffLimitPerIndex = ptr[int32](1)
		j.Spec.BackoffLimit = ptr[int32](1<<31 - 1)
	}))
	f.sync("pi")
	failIndex1 := func() *corev1.Pod {
		for _, p := range f.running() {
			if podIndex(p) == 1 {
				f.finish(p, corev1.PodFailed, 1)
				return p
			}
		}
		t.Fatal("no running pod of index 1")
		return nil
	}
	failIndex1()
	f.clock.Step(initialBackoff)
	f.sync("pi")
	var retry *corev1.Pod
	for _, p := range f.running() {
		if podIndex(p) == 1 {
			retry = p
		}
	}
	if retry == nil || retry.Annotations[batchv1.JobIndexFailureCountAnnotation] != "1" {
		t.Fatalf("retry of index 1 = %+v", retry)
	}
	failIndex1()
	f.clock.Step(time.Minute)
	f.sync("pi")
	j := f.job("pi")
	if j.Status.FailedIndexes == nil || *j.Status.FailedIndexes != "1" {
		t.Fatalf("failedIndexes = %v", j.Status.FailedIndexes)
	}
	for _, p := range f.running() {
		if podIndex(p) == 1 {
			t.Fatal("failed index recreated")
		}
		f.finish(p, corev1.PodSucceeded, 0)
	}
	f.sync("pi")
	j = f.job("pi")
	if !hasCondition(j, batchv1.JobFailed, batchv1.JobReasonFailedIndexes) || j.Status.CompletedIndexes != "0" {
		t.Errorf("status = %+v", j.Status)
	}
}
