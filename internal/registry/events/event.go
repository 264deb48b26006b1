package events

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Length limits of new-style event fields.
const (
	maxReportingInstance = 128
	maxAction            = 128
	maxReason            = 128
	maxNote              = 1024
)

// Kubernetes validates events.k8s.io Events after converting them to core
// Events, so error paths use the core field names (message, not note;
// involvedObject, not regarding; source, count, firstTimestamp and
// lastTimestamp for the deprecated fields). Validation does the same so
// that kubectl prints the same errors.
var eventStrategy = registry.Strategy{
	Validate: func(obj runtime.Object) field.ErrorList { return validateEvent(obj.(*eventsv1.Event)) },
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return validateEventUpdate(eventToCore(obj.(*eventsv1.Event)), eventToCore(old.(*eventsv1.Event)))
	},
}

// validateEvent runs the checks every event must pass and, when the event
// is being created, the stricter events.k8s.io rules. An object without a
// resourceVersion is a create (also a PUT that creates); the rules
// Kubernetes applies to events.k8s.io updates are in validateEventUpdate.
func validateEvent(in *eventsv1.Event) field.ErrorList {
	ev := eventToCore(in)
	errs := validateEventFields(ev)
	if in.ResourceVersion == "" {
		errs = append(errs, validateNewEvent(ev)...)
	}
	return errs
}

// validateEventFields holds the checks Kubernetes applies to events of
// every API version. Old-style events (no eventTime) must be in their
// object's namespace; new-style events need a reporting controller,
// instance, action and reason, and a note of at most 1 KiB.
func validateEventFields(ev *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	objNS := ev.InvolvedObject.Namespace
	if ev.EventTime.IsZero() {
		if (objNS == "" && ev.Namespace != "" && ev.Namespace != metav1.NamespaceDefault) || (objNS != "" && objNS != ev.Namespace) {
			errs = append(errs, field.Invalid(nsPath, objNS, "does not match event.namespace"))
		}
		return errs
	}
	if objNS == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
		errs = append(errs, field.Invalid(nsPath, objNS, "does not match event.namespace"))
	}
	if ev.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
	}
	for _, msg := range content.IsQualifiedName(ev.ReportingController) {
		errs = append(errs, field.Invalid(field.NewPath("reportingController"), ev.ReportingController, msg))
	}
	errs = append(errs, requiredWithLimit("reportingInstance", ev.ReportingInstance, maxReportingInstance)...)
	errs = append(errs, requiredWithLimit("action", ev.Action, maxAction)...)
	errs = append(errs, requiredWithLimit("reason", ev.Reason, maxReason)...)
	if len(ev.Message) > maxNote {
		errs = append(errs, tooLong("message", maxNote))
	}
	return errs
}

func requiredWithLimit(name, value string, limit int) field.ErrorList {
	var errs field.ErrorList
	if value == "" {
		errs = append(errs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > limit {
		errs = append(errs, tooLong(name, limit))
	}
	return errs
}

func tooLong(name string, limit int) *field.Error {
	return field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", limit))
}

// validateNewEvent holds the rules for events created through
// events.k8s.io: eventTime and a Normal or Warning type are required, a
// series needs a count of at least 2 and a last observation, and the
// deprecated fields must stay unset.
func validateNewEvent(ev *corev1.Event) field.ErrorList {
	errs := validateSeries(ev.Series)
	if ev.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
	}
	unset := func(name string, set bool) {
		if set {
			errs = append(errs, field.Invalid(field.NewPath(name), "", "needs to be unset"))
		}
	}
	unset("firstTimestamp", !ev.FirstTimestamp.IsZero())
	unset("lastTimestamp", !ev.LastTimestamp.IsZero())
	unset("count", ev.Count != 0)
	unset("source", ev.Source.Component != "" || ev.Source.Host != "")
	return errs
}

func validateSeries(s *corev1.EventSeries) field.ErrorList {
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	if s.Count < 2 {
		errs = append(errs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if s.LastObservedTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return errs
}

// validateEventUpdate: through events.k8s.io only the series (and
// metadata) of an event may change.
func validateEventUpdate(ev, old *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if !equality.Semantic.DeepEqual(ev.Series, old.Series) {
		errs = append(errs, validateSeries(ev.Series)...)
	}
	immutable := func(name string, value, oldValue interface{}) {
		errs = append(errs, apivalidation.ValidateImmutableField(value, oldValue, field.NewPath(name))...)
	}
	immutable("involvedObject", ev.InvolvedObject, old.InvolvedObject)
	immutable("reason", ev.Reason, old.Reason)
	immutable("message", ev.Message, old.Message)
	immutable("source", ev.Source, old.Source)
	immutable("firstTimestamp", ev.FirstTimestamp, old.FirstTimestamp)
	immutable("lastTimestamp", ev.LastTimestamp, old.LastTimestamp)
	immutable("count", ev.Count, old.Count)
	immutable("type", ev.Type, old.Type)
	immutable("eventTime", ev.EventTime, old.EventTime)
	immutable("action", ev.Action, old.Action)
	immutable("related", ev.Related, old.Related)
	immutable("reportingController", ev.ReportingController, old.ReportingController)
	immutable("reportingInstance", ev.ReportingInstance, old.ReportingInstance)
	return errs
}

// The table is kubectl's event table: the first columns show by default,
// the rest (and the name, last) with -o wide.
var eventTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.Column("Last Seen", "string", 0, corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
		registry.Column("Type", "string", 0, corev1.Event{}.SwaggerDoc()["type"]),
		registry.Column("Reason", "string", 0, corev1.Event{}.SwaggerDoc()["reason"]),
		registry.Column("Object", "string", 0, corev1.Event{}.SwaggerDoc()["involvedObject"]),
		registry.Column("Subobject", "string", 1, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		registry.Column("Source", "string", 1, corev1.Event{}.SwaggerDoc()["source"]),
		registry.Column("Message", "string", 0, corev1.Event{}.SwaggerDoc()["message"]),
		registry.Column("First Seen", "string", 1, corev1.Event{}.SwaggerDoc()["firstTimestamp"]),
		registry.Column("Count", "string", 1, corev1.Event{}.SwaggerDoc()["count"]),
		withPriority(registry.NameColumn, 1),
	},
	Row: func(obj runtime.Object) []interface{} { return eventRow(obj.(*eventsv1.Event)) },
}

func withPriority(c metav1.TableColumnDefinition, priority int32) metav1.TableColumnDefinition {
	c.Priority = priority
	return c
}

func eventRow(ev *eventsv1.Event) []interface{} {
	first := registry.Age(ev.DeprecatedFirstTimestamp)
	if ev.DeprecatedFirstTimestamp.IsZero() {
		first = registry.Age(metav1.Time{Time: ev.EventTime.Time})
	}
	last := first
	if !ev.DeprecatedLastTimestamp.IsZero() {
		last = registry.Age(ev.DeprecatedLastTimestamp)
	}
	count := ev.DeprecatedCount
	if ev.Series != nil {
		last = registry.Age(metav1.Time{Time: ev.Series.LastObservedTime.Time})
		count = ev.Series.Count
	} else if count == 0 {
		count = 1 // a new-style event seen once
	}
	object := strings.ToLower(ev.Regarding.Kind)
	if ev.Regarding.Name != "" {
		object += "/" + ev.Regarding.Name
	}
	return []interface{}{
		last, ev.Type, ev.Reason, object, ev.Regarding.FieldPath,
		eventSource(ev), strings.TrimSpace(ev.Note), first, int64(count), ev.Name,
	}
}

// eventSource prints "component, host", falling back to the reporting
// controller and instance.
func eventSource(ev *eventsv1.Event) string {
	component, host := ev.DeprecatedSource.Component, ev.DeprecatedSource.Host
	if component == "" {
		component = ev.ReportingController
	}
	if host == "" {
		host = ev.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
