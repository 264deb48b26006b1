// Package registrytest holds what the registry packages' tests share:
// checks of validation results (field.ErrorList) and of table columns and
// rows, and a valid pod template.
//
// An expected error is a Want, built with Required, Invalid, Forbidden,
// NotSupported, Duplicate, NotFound, TooLong or TooMany. Then
// ExpectExactly checks a whole result, ExpectContains one error in it and
// ExpectValid that there is none.
package registrytest

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Want is one expected validation error: its type, its field path and,
// when Detail is set, a substring of its detail (the whole detail if
// ExactDetail is set).
type Want struct {
	Type        field.ErrorType
	Field       string
	Detail      string
	ExactDetail bool
}

func (w Want) String() string {
	if w.ExactDetail {
		return fmt.Sprintf("%s %s detail=%q", w.Type, w.Field, w.Detail)
	}
	return fmt.Sprintf("%s %s %q", w.Type, w.Field, w.Detail)
}

// Matches says whether e is the error w describes.
func (w Want) Matches(e *field.Error) bool {
	if e == nil || e.Type != w.Type || e.Field != w.Field {
		return false
	}
	if w.ExactDetail && w.Detail != "" {
		return e.Detail == w.Detail
	}
	return strings.Contains(e.Detail, w.Detail)
}

// Required expects a field.Required error at path whose detail contains
// detail ("" for any).
func Required(path, detail string) Want { return want(field.ErrorTypeRequired, path, detail) }

// Invalid expects a field.Invalid error.
func Invalid(path, detail string) Want { return want(field.ErrorTypeInvalid, path, detail) }

// Forbidden expects a field.Forbidden error.
func Forbidden(path, detail string) Want { return want(field.ErrorTypeForbidden, path, detail) }

// NotSupported expects a field.NotSupported error.
func NotSupported(path, detail string) Want {
	return want(field.ErrorTypeNotSupported, path, detail)
}

// Duplicate expects a field.Duplicate error.
func Duplicate(path, detail string) Want { return want(field.ErrorTypeDuplicate, path, detail) }

// NotFound expects a field.NotFound error.
func NotFound(path, detail string) Want { return want(field.ErrorTypeNotFound, path, detail) }

// TooLong expects a field.TooLong error.
func TooLong(path, detail string) Want { return want(field.ErrorTypeTooLong, path, detail) }

// TooMany expects a field.TooMany error.
func TooMany(path, detail string) Want { return want(field.ErrorTypeTooMany, path, detail) }

func want(typ field.ErrorType, path, detail string) Want {
	return Want{Type: typ, Field: path, Detail: detail}
}

// ExactDetails returns wants with ExactDetail set: those with a detail then
// match only errors with exactly that detail.
func ExactDetails(wants ...Want) []Want {
	out := make([]Want, len(wants))
	for i, w := range wants {
		w.ExactDetail = true
		out[i] = w
	}
	return out
}

// ExpectExactly fails the test unless errs are exactly the wanted errors,
// in any order: as many errors as wants, each error matched by a different
// want. A count that differs stops the test.
func ExpectExactly(t testing.TB, errs field.ErrorList, wants ...Want) {
	t.Helper()
	if len(errs) != len(wants) {
		t.Fatalf("got %d errors, want %d:\n  got:\n    %s\n  want:\n    %s",
			len(errs), len(wants), describe(errs), describeWants(wants))
	}
	wantOf, errOf := match(errs, wants)
	var missing []Want
	for i, e := range errOf {
		if e < 0 {
			missing = append(missing, wants[i])
		}
	}
	if len(missing) == 0 {
		return
	}
	var extra field.ErrorList
	for i, w := range wantOf {
		if w < 0 {
			extra = append(extra, errs[i])
		}
	}
	t.Errorf("errors differ:\n  missing:\n    %s\n  unexpected:\n    %s\n  got:\n    %s",
		describeWants(missing), describe(extra), describe(errs))
}

// ExpectContains fails the test unless errs include an error matching w;
// other errors do not matter.
func ExpectContains(t testing.TB, errs field.ErrorList, w Want) {
	t.Helper()
	for _, e := range errs {
		if w.Matches(e) {
			return
		}
	}
	t.Errorf("no error %v; got:\n    %s", w, describe(errs))
}

// ExpectValid fails the test if there are any errors.
func ExpectValid(t testing.TB, errs field.ErrorList) {
	t.Helper()
	if len(errs) > 0 {
		t.Errorf("unexpected errors:\n    %s", describe(errs))
	}
}

// match pairs errors with wants, one to one, pairing as many as it can
// (a maximum bipartite matching, so the order of errs and wants does not
// matter). It returns, for each error, the index of its want and, for each
// want, the index of its error; -1 where there is none.
func match(errs field.ErrorList, wants []Want) (wantOf, errOf []int) {
	wantOf = make([]int, len(errs))
	errOf = make([]int, len(wants))
	for i := range wantOf {
		wantOf[i] = -1
	}
	for i := range errOf {
		errOf[i] = -1
	}
	// augment looks for a path from want w to an unpaired error,
	// re-pairing errors along the way.
	var augment func(w int, seen []bool) bool
	augment = func(w int, seen []bool) bool {
		for e := range errs {
			if seen[e] || !wants[w].Matches(errs[e]) {
				continue
			}
			seen[e] = true
			if wantOf[e] < 0 || augment(wantOf[e], seen) {
				wantOf[e], errOf[w] = w, e
				return true
			}
		}
		return false
	}
	for w := range wants {
		augment(w, make([]bool, len(errs)))
	}
	return wantOf, errOf
}

func describe(errs field.ErrorList) string {
	if len(errs) == 0 {
		return "(none)"
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = fmt.Sprintf("%s %s %q", e.Type, e.Field, e.Detail)
	}
	return strings.Join(lines, "\n    ")
}

func describeWants(wants []Want) string {
	if len(wants) == 0 {
		return "(none)"
	}
	lines := make([]string, len(wants))
	for i, w := range wants {
		lines[i] = w.String()
	}
	return strings.Join(lines, "\n    ")
}

// ValidPodTemplate returns a pod template that validates: restartPolicy,
// the ClusterFirst DNS policy and containers, no labels.
func ValidPodTemplate(restartPolicy corev1.RestartPolicy, containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{
			RestartPolicy: restartPolicy,
			DNSPolicy:     corev1.DNSClusterFirst,
			Containers:    containers,
		},
	}
}

// ExpectColumns fails the test unless table's columns are registry.NameColumn
// and then the others of names, in order, the last wide of them with
// priority 1 (shown only with -o wide) and the others with priority 0.
func ExpectColumns(t testing.TB, table *registry.Table, names []string, wide int) {
	t.Helper()
	if len(table.Columns) != len(names) {
		t.Fatalf("got %d columns, want %d", len(table.Columns), len(names))
	}
	if table.Columns[0] != registry.NameColumn {
		t.Errorf("first column %q is not the name column", table.Columns[0].Name)
	}
	for i, c := range table.Columns {
		priority := int32(0)
		if i >= len(names)-wide {
			priority = 1
		}
		if c.Name != names[i] || c.Priority != priority {
			t.Errorf("column %d = %q priority %d, want %q priority %d", i, c.Name, c.Priority, names[i], priority)
		}
	}
}

// ExpectRow fails the test unless row has a cell for each of table's
// columns and starts with the cells want.
func ExpectRow(t testing.TB, table *registry.Table, row []interface{}, want []interface{}) {
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
