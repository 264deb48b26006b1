package cronjob

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

var created = time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)

func cronJob(schedule string, policy batchv1.ConcurrencyPolicy) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)},
		Spec: batchv1.CronJobSpec{
			Schedule: schedule, ConcurrencyPolicy: policy, TimeZone: ptr.To("UTC"),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "tick"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				}}},
			},
		},
	}
}

func TestMostRecent(t *testing.T) {
	sched, err := parseSchedule(cronJob("*/5 * * * *", batchv1.AllowConcurrent))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		last       *time.Time
		deadline   *int64
		now        time.Time
		want       time.Time
		wantMissed int
	}{
		{"before the first time", nil, nil, created.Add(time.Minute), time.Time{}, 0},
		{"first time due", nil, nil, created.Add(5 * time.Minute), time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC), 1},
		{"several missed: the latest", nil, nil, created.Add(21 * time.Minute), time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC), 4},
		{"after the last run", ptr.To(time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC)), nil, created.Add(21 * time.Minute), time.Time{}, 0},
		{"starting deadline limits the look-back", nil, ptr.To[int64](120), created.Add(21 * time.Minute), time.Date(2026, 11, 25, 10, 20, 0, 0, time.UTC), 1},
		{"too many missed", nil, nil, created.Add(1000 * time.Hour), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(1000 * time.Hour), maxMissed + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cj := cronJob("*/5 * * * *", batchv1.AllowConcurrent)
			cj.Spec.StartingDeadlineSeconds = tc.deadline
			if tc.last != nil {
				cj.Status.LastScheduleTime = &metav1.Time{Time: *tc.last}
			}
			got, missed := mostRecent(cj, sched, tc.now)
			if !got.Equal(tc.want) || missed != tc.wantMissed {
				t.Fatalf("mostRecent = %v, %d; want %v, %d", got, missed, tc.want, tc.wantMissed)
			}
		})
	}
}

type harness struct {
	c      *Controller
	client *fake.Clientset
	now    time.Time
	stop   context.CancelFunc
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewSimpleClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	h := &harness{client: client}
	h.c = New(client, factory, slog.New(slog.DiscardHandler))
	h.c.now = func() time.Time { return h.now }
	h.c.recorder = record.NewFakeRecorder(100)
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return h
}

// sync runs one sync after the informers caught up with the client.
func (h *harness) sync(t *testing.T) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	if _, err := h.c.sync(context.Background(), types.NamespacedName{Namespace: "default", Name: "tick"}); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) jobs(t *testing.T) []batchv1.Job {
	t.Helper()
	l, err := h.client.BatchV1().Jobs("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func TestCreatesOneJobPerScheduleTime(t *testing.T) {
	h := newHarness(t, cronJob("* * * * *", batchv1.AllowConcurrent))
	h.now = created.Add(40 * time.Second) // 10:01:10
	h.sync(t)
	jobs := h.jobs(t)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	j := jobs[0]
	want := time.Date(2026, 11, 25, 10, 1, 0, 0, time.UTC)
	if j.Name != "tick-"+strconv.FormatInt(want.Unix()/60, 10) || j.Annotations[ScheduledTimestampAnnotation] != "2026-11-25T10:01:00Z" || j.Labels["app"] != "tick" {
		t.Fatalf("job %s %v %v", j.Name, j.Annotations, j.Labels)
	}
	if ref := metav1.GetControllerOf(&j); ref == nil || ref.UID != "cj-uid" {
		t.Fatalf("owner %v", j.OwnerReferences)
	}
	cj, _ := h.client.BatchV1().CronJobs("default").Get(context.Background(), "tick", metav1.GetOptions{})
	if cj.Status.LastScheduleTime == nil || !cj.Status.LastScheduleTime.Time.Equal(want) || len(cj.Status.Active) != 1 {
		t.Fatalf("status %+v", cj.Status)
	}
	// A restarted controller that lost the status write makes no second Job
	// for the same time.
	h2 := newHarness(t, cronJob("* * * * *", batchv1.AllowConcurrent), &j)
	h2.now = h.now
	h2.sync(t)
	if n := len(h2.jobs(t)); n != 1 {
		t.Fatalf("%d jobs after a restart, want 1", n)
	}
}

func TestForbidSkipsWhileActive(t *testing.T) {
	h := newHarness(t, cronJob("* * * * *", batchv1.ForbidConcurrent))
	h.now = created.Add(40 * time.Second)
	h.sync(t)
	h.now = h.now.Add(time.Minute)
	h.sync(t)
	if n := len(h.jobs(t)); n != 1 {
		t.Fatalf("%d jobs with Forbid and one running, want 1", n)
	}
}

func TestReplaceDeletesTheRunningJob(t *testing.T) {
	h := newHarness(t, cronJob("* * * * *", batchv1.ReplaceConcurrent))
	h.now = created.Add(40 * time.Second)
	h.sync(t)
	first := h.jobs(t)[0].Name
	h.now = h.now.Add(time.Minute)
	h.sync(t)
	jobs := h.jobs(t)
	if len(jobs) != 1 || jobs[0].Name == first {
		t.Fatalf("jobs after Replace: %v (first was %s)", jobs, first)
	}
}

func TestSuspendedStartsNothing(t *testing.T) {
	cj := cronJob("* * * * *", batchv1.AllowConcurrent)
	cj.Spec.Suspend = ptr.To(true)
	h := newHarness(t, cj)
	h.now = created.Add(5 * time.Minute)
	h.sync(t)
	if n := len(h.jobs(t)); n != 0 {
		t.Fatalf("%d jobs of a suspended CronJob", n)
	}
}

func TestHistoryLimits(t *testing.T) {
	cj := cronJob("* * * * *", batchv1.AllowConcurrent)
	cj.Spec.Suspend = ptr.To(true)
	objs := []runtime.Object{cj}
	for i := 0; i < 7; i++ {
		cond := batchv1.JobComplete
		if i >= 5 {
			cond = batchv1.JobFailed
		}
		start := metav1.NewTime(created.Add(time.Duration(i) * time.Minute))
		objs = append(objs, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "tick-" + strconv.Itoa(i), Namespace: "default", UID: types.UID("j" + strconv.Itoa(i)),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))}},
			Status: batchv1.JobStatus{StartTime: &start, CompletionTime: &start,
				Conditions: []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}},
		})
	}
	h := newHarness(t, objs...)
	h.now = created.Add(10 * time.Minute)
	h.sync(t)
	left := map[string]bool{}
	for _, j := range h.jobs(t) {
		left[j.Name] = true
	}
	for _, want := range []string{"tick-2", "tick-3", "tick-4", "tick-6"} {
		if !left[want] {
			t.Errorf("%s deleted; left %v", want, left)
		}
	}
	if len(left) != 4 {
		t.Fatalf("left %v, want the 3 newest successful and the newest failed", left)
	}
	got, _ := h.client.BatchV1().CronJobs("default").Get(context.Background(), "tick", metav1.GetOptions{})
	if got.Status.LastSuccessfulTime == nil || !got.Status.LastSuccessfulTime.Time.Equal(created.Add(4*time.Minute)) {
		t.Fatalf("lastSuccessfulTime %v", got.Status.LastSuccessfulTime)
	}
}
