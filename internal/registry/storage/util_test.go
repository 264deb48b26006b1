package storage

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// want is one expected validation error: its type and path, and, when
// detail is set, a substring of its detail.
type want struct {
	typ    field.ErrorType
	path   string
	detail string
}

func (w want) String() string { return fmt.Sprintf("%s %s %q", w.typ, w.path, w.detail) }

// checkErrs fails unless errs are exactly the wanted errors, in any order.
func checkErrs(t *testing.T, errs field.ErrorList, wants ...want) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s %s %q", e.Type, e.Field, e.Detail))
	}
	sort.Strings(got)
	if len(errs) != len(wants) {
		t.Fatalf("got %d errors, want %d:\n  got:  %s\n  want: %v", len(errs), len(wants), strings.Join(got, "\n        "), wants)
	}
	used := make([]bool, len(errs))
	for _, w := range wants {
		found := false
		for i, e := range errs {
			if !used[i] && e.Type == w.typ && e.Field == w.path && strings.Contains(e.Detail, w.detail) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing error %v; got:\n  %s", w, strings.Join(got, "\n  "))
		}
	}
}

func required(path, detail string) want  { return want{field.ErrorTypeRequired, path, detail} }
func invalid(path, detail string) want   { return want{field.ErrorTypeInvalid, path, detail} }
func notSupported(path string) want      { return want{field.ErrorTypeNotSupported, path, ""} }
func forbidden(path, detail string) want { return want{field.ErrorTypeForbidden, path, detail} }
func duplicate(path string) want         { return want{field.ErrorTypeDuplicate, path, ""} }
func tooLong(path string) want           { return want{field.ErrorTypeTooLong, path, ""} }
