package core

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestEventValidate(t *testing.T) {
	newStyle := func(e *corev1.Event) {
		e.EventTime = metav1.NewMicroTime(time.Now())
		e.ReportingController, e.ReportingInstance, e.Action, e.Reason = "skiff.io/kubelet", "node-1", "Pulling", "Pulling"
	}
	cases := []struct {
		name   string
		ns     string
		objNS  string
		mutate func(*corev1.Event)
		want   []registrytest.Want
	}{
		{name: "same namespace", ns: "apps", objNS: "apps"},
		{name: "cluster object in default", ns: "default"},
		{name: "namespace mismatch", ns: "apps", objNS: "other",
			want: []registrytest.Want{registrytest.Invalid("involvedObject.namespace", "does not match event.namespace")}},
		{name: "cluster object elsewhere", ns: "apps",
			want: []registrytest.Want{registrytest.Invalid("involvedObject.namespace", "does not match event.namespace")}},
		{name: "new style in kube-system", ns: "kube-system", mutate: newStyle},
		{name: "new style incomplete", ns: "default", mutate: func(e *corev1.Event) {
			newStyle(e)
			e.ReportingController, e.Action = "", ""
			e.Reason = strings.Repeat("r", 129)
			e.Message = strings.Repeat("m", 1025)
		}, want: []registrytest.Want{
			registrytest.Required("reportingController", ""),
			registrytest.Invalid("reportingController", "name part must be non-empty"), registrytest.Invalid("reportingController", ""),
			registrytest.Required("action", ""),
			registrytest.Invalid("reason", "can have at most 128 characters"),
			registrytest.Invalid("message", "can have at most 1024 characters")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: c.ns},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: c.objNS}}
			if c.mutate != nil {
				c.mutate(e)
			}
			registrytest.ExpectExactly(t, strategyCreate(eventStrategy, e), c.want...)
		})
	}
}

func TestEventTable(t *testing.T) {
	now := time.Now()
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
		Type:           "Normal", Reason: "Pulled", Message: " pulled image \n",
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(now.Add(-10 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-2 * time.Minute)), Count: 3,
	}
	want := []interface{}{"2m", "Normal", "Pulled", "pod/web", "spec.containers{app}", "kubelet, node-1", "pulled image", "10m", int64(3), "web.1"}
	if row := eventTable.Row(e); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %#v\nwant  %#v", row, want)
	}
	series := &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Node"}, ReportingController: "ctrl",
		EventTime: metav1.NewMicroTime(now.Add(-time.Hour)), Series: &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(now.Add(-5 * time.Second))}}
	row := eventTable.Row(series)
	if row[0] != "5s" || row[3] != "node" || row[5] != "ctrl" || row[7] != "60m" || row[8] != int64(7) {
		t.Errorf("series row = %#v", row)
	}
	if eventTable.Columns[0].Name != "Last Seen" || eventTable.Columns[9].Name != "Name" || eventTable.Columns[9].Priority != 1 {
		t.Errorf("columns = %+v", eventTable.Columns)
	}
}
