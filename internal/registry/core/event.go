package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Core (v1) events. Kubernetes validates them loosely, for compatibility
// with old clients; the stricter rules of events.k8s.io apply only through
// that group. Events expire after EventTTL.

var eventStrategy = registry.Strategy{
	Validate: validateEvent,
}

// Length limits of new-style events (those with eventTime).
const (
	eventReportingInstanceMax = 128
	eventActionMax            = 128
	eventReasonMax            = 128
	eventNoteMax              = 1024
)

// validateEvent: the involved object's namespace must match the event's
// (cluster-scoped objects' events live in "default", or in "kube-system"
// for new-style events); new-style events (eventTime set) also need
// reportingController, reportingInstance, action and reason, within limits.
func validateEvent(obj runtime.Object) field.ErrorList {
	e := obj.(*corev1.Event)
	nsPath := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				return field.ErrorList{mismatch}
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			return field.ErrorList{mismatch}
		}
		return nil
	}
	var errs field.ErrorList
	if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, mismatch)
	}
	if e.ReportingController == "" {
		errs = append(errs, field.Required(field.NewPath("reportingController"), ""))
	}
	errs = append(errs, qualifiedNameErrs(e.ReportingController, field.NewPath("reportingController"))...)
	errs = append(errs, eventLengthErrs("reportingInstance", e.ReportingInstance, eventReportingInstanceMax, true)...)
	errs = append(errs, eventLengthErrs("action", e.Action, eventActionMax, true)...)
	errs = append(errs, eventLengthErrs("reason", e.Reason, eventReasonMax, true)...)
	errs = append(errs, eventLengthErrs("message", e.Message, eventNoteMax, false)...)
	return errs
}

// eventLengthErrs checks a string field's presence and length. The value is
// not echoed (Kubernetes reports an empty value).
func eventLengthErrs(name, value string, max int, required bool) field.ErrorList {
	var errs field.ErrorList
	if required && value == "" {
		errs = append(errs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > max {
		errs = append(errs, field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", max)))
	}
	return errs
}

// eventTable has kubectl's event columns; the name is a wide column.
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
		{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: registry.NameColumn.Description},
	},
	Row: eventRow,
}

// eventRow prints an event; new-style events (eventTime, series) fall back
// to those times and counts.
func eventRow(obj runtime.Object) []interface{} {
	e := obj.(*corev1.Event)
	first := registry.Age(e.FirstTimestamp)
	if e.FirstTimestamp.IsZero() {
		first = registry.Age(microToTime(e.EventTime))
	}
	last := registry.Age(e.LastTimestamp)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = registry.Age(microToTime(e.Series.LastObservedTime))
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	return []interface{}{last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
		eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name}
}

// eventSource is "component, host", falling back to the reporting
// controller and instance of new-style events.
func eventSource(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
