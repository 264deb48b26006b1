package batch

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

type wantErr struct {
	path   string
	typ    field.ErrorType
	detail string // substring of the detail; empty matches any
}

type invalidCase[T any] struct {
	name   string
	mutate func(T)
	want   wantErr
}

func expectError(t *testing.T, errs field.ErrorList, w wantErr) {
	t.Helper()
	for _, e := range errs {
		if e.Field == w.path && e.Type == w.typ && strings.Contains(e.Detail, w.detail) {
			return
		}
	}
	t.Errorf("want %s %s %q, got %v", w.path, w.typ, w.detail, errs)
}

func expectValid(t *testing.T, errs field.ErrorList) {
	t.Helper()
	if len(errs) > 0 {
		t.Errorf("unexpected errors: %v", errs)
	}
}

// jobPodTemplate is a valid job pod template.
func jobPodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "pi", Image: "perl:5.34"}},
		},
	}
}

func tenMinutesAgo() metav1.Time { return metav1.NewTime(time.Now().Add(-10 * time.Minute)) }

func checkRow(t *testing.T, table *registry.Table, row []interface{}, want []interface{}) {
	t.Helper()
	if len(row) != len(table.Columns) {
		t.Fatalf("row has %d cells for %d columns", len(row), len(table.Columns))
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d (%s) = %#v, want %#v", i, table.Columns[i].Name, row[i], want[i])
		}
	}
}

func checkColumns(t *testing.T, table *registry.Table, names []string, wide int) {
	t.Helper()
	if len(table.Columns) != len(names) {
		t.Fatalf("got %d columns, want %d", len(table.Columns), len(names))
	}
	if table.Columns[0] != registry.NameColumn {
		t.Error("first column is not the name column")
	}
	for i, c := range table.Columns {
		want := int32(0)
		if i >= len(names)-wide {
			want = 1
		}
		if c.Name != names[i] || c.Priority != want {
			t.Errorf("column %d = %q priority %d, want %q priority %d", i, c.Name, c.Priority, names[i], want)
		}
	}
}
