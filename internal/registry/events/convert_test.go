package events

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var (
	t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

// fullEvent sets every field of an events.k8s.io Event.
func fullEvent() *eventsv1.Event {
	return &eventsv1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{Name: "web.17a", Namespace: "default", UID: "u1", ResourceVersion: "7",
			Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"}},
		EventTime:           metav1.NewMicroTime(t0),
		Series:              &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)},
		ReportingController: "skiff.io/scheduler",
		ReportingInstance:   "skiff-node-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: types.UID("p1"),
			APIVersion: "v1", ResourceVersion: "5", FieldPath: "spec.containers{app}"},
		Related:                  &corev1.ObjectReference{Kind: "Node", Name: "node-1"},
		Note:                     "Successfully assigned default/web to node-1",
		Type:                     "Normal",
		DeprecatedSource:         corev1.EventSource{Component: "scheduler", Host: "node-1"},
		DeprecatedFirstTimestamp: metav1.NewTime(t0),
		DeprecatedLastTimestamp:  metav1.NewTime(t1),
		DeprecatedCount:          3,
	}
}

func TestToCoreEventMapping(t *testing.T) {
	in := fullEvent()
	obj, err := toCoreEvent(in)
	if err != nil {
		t.Fatal(err)
	}
	ev := obj.(*corev1.Event)
	want := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          in.ObjectMeta,
		InvolvedObject:      in.Regarding,
		Reason:              "Scheduled",
		Message:             in.Note,
		Source:              corev1.EventSource{Component: "scheduler", Host: "node-1"},
		FirstTimestamp:      metav1.NewTime(t0),
		LastTimestamp:       metav1.NewTime(t1),
		Count:               3,
		Type:                "Normal",
		EventTime:           metav1.NewMicroTime(t0),
		Series:              &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)},
		Action:              "Binding",
		Related:             &corev1.ObjectReference{Kind: "Node", Name: "node-1"},
		ReportingController: "skiff.io/scheduler",
		ReportingInstance:   "skiff-node-1",
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("got  %+v\nwant %+v", ev, want)
	}
	// The copy shares nothing with the input.
	ev.Labels["a"] = "changed"
	ev.Related.Name = "changed"
	ev.Series.Count = 99
	if in.Labels["a"] != "b" || in.Related.Name != "node-1" || in.Series.Count != 3 {
		t.Fatal("conversion aliases the input")
	}
}

func TestEventRoundTrip(t *testing.T) {
	minimal := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"}}
	for name, in := range map[string]*eventsv1.Event{"full": fullEvent(), "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			core, err := toCoreEvent(in.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			back, err := fromCoreEvent(core)
			if err != nil {
				t.Fatal(err)
			}
			got := back.(*eventsv1.Event)
			want := in.DeepCopy()
			want.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

func TestCoreEventRoundTrip(t *testing.T) {
	// A legacy event written through core/v1, without the new fields.
	legacy := &corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "BackOff",
		Message:        "Back-off restarting failed container",
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(t0),
		LastTimestamp:  metav1.NewTime(t1),
		Count:          12,
		Type:           "Warning",
	}
	obj, err := fromCoreEvent(legacy)
	if err != nil {
		t.Fatal(err)
	}
	ev := obj.(*eventsv1.Event)
	if ev.Note != legacy.Message || ev.Regarding.Name != "web" || ev.DeprecatedSource.Component != "kubelet" ||
		ev.DeprecatedCount != 12 || !ev.DeprecatedFirstTimestamp.Equal(&legacy.FirstTimestamp) || ev.ReportingController != "" {
		t.Fatalf("from core: %+v", ev)
	}
	back, err := toCoreEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, legacy) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", back, legacy)
	}
}

func TestConvertWrongType(t *testing.T) {
	if _, err := toCoreEvent(&corev1.Event{}); err == nil {
		t.Error("toCoreEvent accepted a core event")
	}
	if _, err := fromCoreEvent(&eventsv1.Event{}); err == nil {
		t.Error("fromCoreEvent accepted an events.k8s.io event")
	}
}
