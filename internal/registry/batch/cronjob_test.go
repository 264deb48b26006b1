package batch

import (
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func validCronJob() *batchv1.CronJob {
	c := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "default", CreationTimestamp: tenMinutesAgo()},
		Spec: batchv1.CronJobSpec{
			Schedule:    "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobPodTemplate()}},
		},
	}
	cronJobStrategy.Default(c)
	return c
}

func TestCronJobDefaults(t *testing.T) {
	c := &batchv1.CronJob{}
	cronJobStrategy.Default(c)
	s := c.Spec
	if s.ConcurrencyPolicy != batchv1.AllowConcurrent || *s.Suspend || *s.SuccessfulJobsHistoryLimit != 3 || *s.FailedJobsHistoryLimit != 1 {
		t.Errorf("spec %+v", s)
	}
	// The job template is no Job: it keeps its unset fields.
	if s.JobTemplate.Spec.BackoffLimit != nil || s.JobTemplate.Spec.Completions != nil {
		t.Errorf("job template defaulted as a job: %+v", s.JobTemplate.Spec)
	}
	again := c.DeepCopy()
	cronJobStrategy.Default(again)
	if !reflect.DeepEqual(again, c) {
		t.Error("defaulting is not idempotent")
	}
}

func TestCronJobValidate(t *testing.T) {
	for _, schedule := range []string{"0 3 * * *", "@hourly", "@every 1h30m", "*/10 9-17 * * MON-FRI", "0 0 1 JAN *"} {
		c := validCronJob()
		c.Spec.Schedule = schedule
		if errs := cronJobStrategy.Validate(c); len(errs) > 0 {
			t.Errorf("schedule %q: %v", schedule, errs)
		}
	}
	c := validCronJob()
	c.Spec.TimeZone = strPtr("Europe/Berlin")
	registrytest.ExpectValid(t, cronJobStrategy.Validate(c))

	jt := "spec.jobTemplate.spec"
	cases := []invalidCase[*batchv1.CronJob]{
		{"no schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "" },
			registrytest.Required("spec.schedule", "")},
		{"bad schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "* * *" },
			registrytest.Invalid("spec.schedule", "expected exactly 5 fields")},
		{"out of range", func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			registrytest.Invalid("spec.schedule", "end of range (61) above maximum (59)")},
		{"TZ in schedule", func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 * * * *" },
			registrytest.Invalid("spec.schedule", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")},
		{"unknown zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = strPtr("Mars/Olympus") },
			registrytest.Invalid("spec.timeZone", "unknown time zone Mars/Olympus")},
		{"malformed zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = strPtr("../etc/passwd") },
			registrytest.Invalid("spec.timeZone", "unknown time zone")},
		{"empty zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = strPtr("") },
			registrytest.Invalid("spec.timeZone", "timeZone must be nil or non-empty string")},
		{"local zone", func(c *batchv1.CronJob) { c.Spec.TimeZone = strPtr("Local") },
			registrytest.Invalid("spec.timeZone", "timeZone must be an explicit time zone")},
		{"concurrency", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" },
			registrytest.NotSupported("spec.concurrencyPolicy", "")},
		{"negative deadline", func(c *batchv1.CronJob) { v := int64(-1); c.Spec.StartingDeadlineSeconds = &v },
			registrytest.Invalid("spec.startingDeadlineSeconds", "")},
		{"negative history", func(c *batchv1.CronJob) { c.Spec.FailedJobsHistoryLimit = int32Ptr(-1) },
			registrytest.Invalid("spec.failedJobsHistoryLimit", "")},
		{"template selector", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{} },
			registrytest.Invalid(jt+".selector", "`selector` will be auto-generated")},
		{"manual selector", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.ManualSelector = new(bool)
			*c.Spec.JobTemplate.Spec.ManualSelector = true
		},
			registrytest.NotSupported(jt+".manualSelector", "")},
		{"template restart", func(c *batchv1.CronJob) {
			c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		},
			registrytest.Required(jt+".template.spec.restartPolicy", "")},
		{"template parallelism", func(c *batchv1.CronJob) { c.Spec.JobTemplate.Spec.Parallelism = int32Ptr(-2) },
			registrytest.Invalid(jt+".parallelism", "")},
		{"long name", func(c *batchv1.CronJob) { c.Name = strings.Repeat("a", 53) },
			registrytest.Invalid("metadata.name", "must be no more than 52 characters")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cj := validCronJob()
			c.mutate(cj)
			registrytest.ExpectContains(t, cronJobStrategy.Validate(cj), c.want)
		})
	}
}

func TestCronJobTable(t *testing.T) {
	registrytest.ExpectColumns(t, cronJobTable, []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
		"Containers", "Images", "Selector"}, 3)
	c := validCronJob()
	registrytest.ExpectRow(t, cronJobTable, cronJobTable.Row(c), []interface{}{"backup", "*/5 * * * *", "<none>", "False", int64(0),
		"<none>", "10m", "pi", "perl:5.34", "<none>"})
	last := metav1.NewTime(time.Now().Add(-3 * time.Minute))
	c.Status = batchv1.CronJobStatus{LastScheduleTime: &last, Active: []corev1.ObjectReference{{Name: "backup-1"}}}
	c.Spec.TimeZone = strPtr("Etc/UTC")
	*c.Spec.Suspend = true
	row := cronJobTable.Row(c)
	if row[2] != "Etc/UTC" || row[3] != "True" || row[4] != int64(1) || row[5] != "3m" {
		t.Errorf("row %v", row)
	}
}
