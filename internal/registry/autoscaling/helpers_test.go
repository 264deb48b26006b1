package autoscaling

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

type wantErr struct {
	path   string
	typ    field.ErrorType
	detail string // substring of the detail; empty matches any
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

func i32(v int32) *int32 { return &v }
