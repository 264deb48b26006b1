package batch

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// maxCronJobNameLength leaves room for the 11-character suffix of the jobs
// a CronJob creates (job names are DNS labels).
const maxCronJobNameLength = 63 - 11

var cronJobStrategy = registry.Strategy{
	Default:  func(obj runtime.Object) { defaultCronJob(obj.(*batchv1.CronJob)) },
	Validate: func(obj runtime.Object) field.ErrorList { return validateCronJob(obj.(*batchv1.CronJob)) },
}

func defaultCronJob(c *batchv1.CronJob) {
	spec := &c.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = new(bool)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = int32Ptr(3)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = int32Ptr(1)
	}
	defaultJobSpecFields(&spec.JobTemplate.Spec)
}

func validateCronJob(c *batchv1.CronJob) field.ErrorList {
	var errs field.ErrorList
	spec, p := &c.Spec, field.NewPath("spec")
	if spec.Schedule == "" {
		errs = append(errs, field.Required(p.Child("schedule"), ""))
	} else {
		errs = append(errs, validateSchedule(spec.Schedule, p.Child("schedule"))...)
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	errs = append(errs, validateTimeZone(spec.TimeZone, p.Child("timeZone"))...)
	errs = append(errs, validateConcurrencyPolicy(spec.ConcurrencyPolicy, p.Child("concurrencyPolicy"))...)
	errs = append(errs, validateJobTemplate(&spec.JobTemplate, p.Child("jobTemplate"))...)
	errs = append(errs, nonNegative(spec.SuccessfulJobsHistoryLimit, p.Child("successfulJobsHistoryLimit"))...)
	errs = append(errs, nonNegative(spec.FailedJobsHistoryLimit, p.Child("failedJobsHistoryLimit"))...)
	if len(c.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), c.Name,
			fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	return errs
}

// validateSchedule parses the schedule as the CronJob controller does
// (five fields or a descriptor such as @hourly). Time zones belong in
// spec.timeZone.
func validateSchedule(schedule string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := cron.ParseStandard(schedule); err != nil {
		errs = append(errs, field.Invalid(p, schedule, err.Error()))
	}
	if strings.Contains(schedule, "TZ") {
		errs = append(errs, field.Invalid(p, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// zoneNamePart is one part of an IANA zone name ("America", "New_York",
// "GMT+0").
var zoneNamePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !zoneNamePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, "unknown time zone "+*tz)}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, tz, err.Error()))
	}
	return errs
}

func validateConcurrencyPolicy(v batchv1.ConcurrencyPolicy, p *field.Path) field.ErrorList {
	switch v {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
		return nil
	case "":
		return field.ErrorList{field.Required(p, "")}
	}
	return field.ErrorList{field.NotSupported(p, v, []batchv1.ConcurrencyPolicy{
		batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent})}
}

// validateJobTemplate checks the job spec a CronJob stamps out; the jobs
// always get a generated selector.
func validateJobTemplate(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	sp := p.Child("spec")
	errs := validateJobSpec(&t.Spec, sp)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(sp.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if t.Spec.ManualSelector != nil && *t.Spec.ManualSelector {
		errs = append(errs, field.NotSupported(sp.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

func boolCell(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	}
	return "False"
}

var cronJobTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Schedule", "string", 0, batchv1.CronJobSpec{}.SwaggerDoc()["schedule"]),
		registry.Column("Timezone", "string", 0, batchv1.CronJobSpec{}.SwaggerDoc()["timeZone"]),
		registry.Column("Suspend", "boolean", 0, batchv1.CronJobSpec{}.SwaggerDoc()["suspend"]),
		registry.Column("Active", "integer", 0, batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
		registry.Column("Last Schedule", "string", 0, batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
		registry.Column("Selector", "string", 1, batchv1.JobSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		c := obj.(*batchv1.CronJob)
		last, tz := "<none>", "<none>"
		if c.Status.LastScheduleTime != nil {
			last = registry.Age(*c.Status.LastScheduleTime)
		}
		if c.Spec.TimeZone != nil {
			tz = *c.Spec.TimeZone
		}
		names, images := containerCells(&c.Spec.JobTemplate.Spec.Template)
		return []interface{}{
			c.Name, c.Spec.Schedule, tz, boolCell(c.Spec.Suspend), int64(len(c.Status.Active)), last,
			registry.Age(c.CreationTimestamp), names, images, metav1.FormatLabelSelector(c.Spec.JobTemplate.Spec.Selector),
		}
	},
}
