package apps

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// wantErr is one expected validation error.
type wantErr struct {
	path   string
	typ    field.ErrorType
	detail string // substring of the detail; empty matches any
}

// invalidCase mutates a valid object into one failing with want.
type invalidCase[T any] struct {
	name   string
	mutate func(T)
	want   wantErr
}

// expectError fails unless errs holds an error with the given path, type and
// detail.
func expectError(t *testing.T, errs field.ErrorList, w wantErr) {
	t.Helper()
	for _, e := range errs {
		if e.Field == w.path && e.Type == w.typ && strings.Contains(e.Detail, w.detail) {
			return
		}
	}
	t.Errorf("want %s %s %q, got %v", w.path, w.typ, w.detail, errs)
}

// expectValid fails on any error.
func expectValid(t *testing.T, errs field.ErrorList) {
	t.Helper()
	if len(errs) > 0 {
		t.Errorf("unexpected errors: %v", errs)
	}
}

// podTemplate is a valid template labelled app=web.
func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyAlways,
			DNSPolicy:     corev1.DNSClusterFirst,
			Containers: []corev1.Container{
				{Name: "nginx", Image: "nginx:1.27"},
				{Name: "sidecar", Image: "busybox"},
			},
		},
	}
}

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func tenMinutesOld() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "web", Namespace: "default",
		CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute))}
}

// checkRow compares a table row with the expected cells and the column
// count.
func checkRow(t *testing.T, table *registry.Table, row []interface{}, want []interface{}) {
	t.Helper()
	if table.Columns[0].Name != registry.NameColumn.Name {
		t.Errorf("first column %q", table.Columns[0].Name)
	}
	if len(row) != len(table.Columns) {
		t.Fatalf("row has %d cells for %d columns", len(row), len(table.Columns))
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d (%s) = %#v, want %#v", i, table.Columns[i].Name, row[i], want[i])
		}
	}
}

// checkColumns compares the column names and priorities ("Name" then
// "Containers*" for priority 1).
func checkColumns(t *testing.T, table *registry.Table, names []string, wide int) {
	t.Helper()
	if len(table.Columns) != len(names) {
		t.Fatalf("got %d columns, want %d", len(table.Columns), len(names))
	}
	for i, c := range table.Columns {
		if c.Name != names[i] {
			t.Errorf("column %d = %q, want %q", i, c.Name, names[i])
		}
		wantPriority := int32(0)
		if i >= len(names)-wide {
			wantPriority = 1
		}
		if c.Priority != wantPriority {
			t.Errorf("column %q priority %d, want %d", c.Name, c.Priority, wantPriority)
		}
	}
}
