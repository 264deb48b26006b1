package events

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// newEvent is a valid event as a client creates it through events.k8s.io.
func newEvent() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.17a", Namespace: "default"},
		EventTime:           metav1.NewMicroTime(t0),
		ReportingController: "skiff.io/scheduler",
		ReportingInstance:   "skiff-node-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Note:                "assigned",
		Type:                "Normal",
	}
}

func TestEventValidateCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*eventsv1.Event)
		want   []registrytest.Want
	}{
		{"valid", func(*eventsv1.Event) {}, nil},
		{"series", func(e *eventsv1.Event) {
			e.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t1)}
		}, nil},
		{"cluster object in default", func(e *eventsv1.Event) { e.Regarding = corev1.ObjectReference{Kind: "Node", Name: "n"} }, nil},
		{"no event time", func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} }, []registrytest.Want{registrytest.Required("eventTime", "")}},
		{"no reporting controller", func(e *eventsv1.Event) { e.ReportingController = "" },
			[]registrytest.Want{registrytest.Required("reportingController", ""), registrytest.Invalid("reportingController", ""), registrytest.Invalid("reportingController", "")}},
		{"bad reporting controller", func(e *eventsv1.Event) { e.ReportingController = "a/b/c" },
			[]registrytest.Want{registrytest.Invalid("reportingController", "")}},
		{"no reporting instance", func(e *eventsv1.Event) { e.ReportingInstance = "" }, []registrytest.Want{registrytest.Required("reportingInstance", "")}},
		{"long reporting instance", func(e *eventsv1.Event) { e.ReportingInstance = strings.Repeat("i", 129) },
			[]registrytest.Want{registrytest.Invalid("reportingInstance", "can have at most 128 characters")}},
		{"no action", func(e *eventsv1.Event) { e.Action = "" }, []registrytest.Want{registrytest.Required("action", "")}},
		{"no reason", func(e *eventsv1.Event) { e.Reason = "" }, []registrytest.Want{registrytest.Required("reason", "")}},
		{"long note", func(e *eventsv1.Event) { e.Note = strings.Repeat("n", 1025) },
			[]registrytest.Want{registrytest.Invalid("message", "can have at most 1024 characters")}},
		{"1 KiB note", func(e *eventsv1.Event) { e.Note = strings.Repeat("n", 1024) }, nil},
		{"bad type", func(e *eventsv1.Event) { e.Type = "Info" }, []registrytest.Want{registrytest.Invalid("type", "has invalid value: Info")}},
		{"series too short", func(e *eventsv1.Event) { e.Series = &eventsv1.EventSeries{Count: 1} },
			[]registrytest.Want{registrytest.Invalid("series.count", "should be at least 2"), registrytest.Required("series.lastObservedTime", "")}},
		{"deprecated fields", func(e *eventsv1.Event) {
			e.DeprecatedCount = 2
			e.DeprecatedSource.Component = "x"
			e.DeprecatedFirstTimestamp = metav1.NewTime(t0)
			e.DeprecatedLastTimestamp = metav1.NewTime(t0)
		}, []registrytest.Want{registrytest.Invalid("count", "needs to be unset"), registrytest.Invalid("source", "needs to be unset"),
			registrytest.Invalid("firstTimestamp", "needs to be unset"), registrytest.Invalid("lastTimestamp", "needs to be unset")}},
		{"namespace mismatch", func(e *eventsv1.Event) { e.Namespace = "other"; e.Regarding.Namespace = "" },
			[]registrytest.Want{registrytest.Invalid("involvedObject.namespace", "does not match event.namespace")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := newEvent()
			tc.mutate(ev)
			registrytest.ExpectExactly(t, eventStrategy.Validate(ev), tc.want...)
		})
	}
}

func TestEventValidateExisting(t *testing.T) {
	// A stored legacy event (from core/v1), updated through events.k8s.io:
	// only the checks for all events apply.
	legacy := &eventsv1.Event{
		ObjectMeta:       metav1.ObjectMeta{Name: "e", Namespace: "default", ResourceVersion: "5"},
		Regarding:        corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:           "BackOff",
		Type:             "Warning",
		DeprecatedSource: corev1.EventSource{Component: "kubelet"},
		DeprecatedCount:  3,
	}
	registrytest.ExpectValid(t, eventStrategy.Validate(legacy))
	legacy.Regarding.Namespace = "other"
	registrytest.ExpectExactly(t, eventStrategy.Validate(legacy), registrytest.Invalid("involvedObject.namespace", "does not match event.namespace"))
}

func TestEventValidateUpdate(t *testing.T) {
	old := newEvent()
	cases := []struct {
		name   string
		mutate func(*eventsv1.Event)
		want   []registrytest.Want
	}{
		{"series", func(e *eventsv1.Event) {
			e.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t1)}
		}, nil},
		{"labels", func(e *eventsv1.Event) { e.Labels = map[string]string{"a": "b"} }, nil},
		{"bad series", func(e *eventsv1.Event) {
			e.Series = &eventsv1.EventSeries{Count: 1, LastObservedTime: metav1.NewMicroTime(t1)}
		},
			[]registrytest.Want{registrytest.Invalid("series.count", "should be at least 2")}},
		{"note", func(e *eventsv1.Event) { e.Note = "changed" }, []registrytest.Want{registrytest.Invalid("message", "field is immutable")}},
		{"regarding", func(e *eventsv1.Event) { e.Regarding.Name = "other" }, []registrytest.Want{registrytest.Invalid("involvedObject", "field is immutable")}},
		{"controller and type", func(e *eventsv1.Event) { e.ReportingController = "x"; e.Type = "Warning" },
			[]registrytest.Want{registrytest.Invalid("reportingController", "field is immutable"), registrytest.Invalid("type", "field is immutable")}},
		{"event time", func(e *eventsv1.Event) { e.EventTime = metav1.NewMicroTime(t1) }, []registrytest.Want{registrytest.Invalid("eventTime", "field is immutable")}},
		{"related", func(e *eventsv1.Event) { e.Related = &corev1.ObjectReference{Name: "x"} }, []registrytest.Want{registrytest.Invalid("related", "field is immutable")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := old.DeepCopy()
			tc.mutate(ev)
			registrytest.ExpectExactly(t, eventStrategy.ValidateUpdate(ev, old), tc.want...)
		})
	}
}

func TestEventTable(t *testing.T) {
	var names []string
	for _, c := range eventTable.Columns {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if strings.Join(names, ",") != "Last Seen,Type,Reason,Object,Message" || len(eventTable.Columns) != 10 {
		t.Fatalf("columns %v", names)
	}
	ev := newEvent()
	ev.EventTime = metav1.NewMicroTime(time.Now().Add(-10 * time.Minute))
	ev.Note = "  assigned default/web  \n"
	row := eventTable.Row(ev)
	want := []interface{}{"10m", "Normal", "Scheduled", "pod/web", "", "skiff.io/scheduler, skiff-node-1", "assigned default/web", "10m", int64(1), "web.17a"}
	if len(row) != len(want) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("cell %d: got %v, want %v (row %v)", i, row[i], want[i], row)
		}
	}
	ev.Series = &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(time.Now().Add(-2 * time.Minute))}
	ev.DeprecatedSource = corev1.EventSource{Component: "kubelet"}
	row = eventTable.Row(ev)
	if row[0] != "2m" || row[8] != int64(4) || row[5] != "kubelet, skiff-node-1" {
		t.Fatalf("series row %v", row)
	}
}
