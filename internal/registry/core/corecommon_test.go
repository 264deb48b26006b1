package core

import (
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// strategyCreate runs what the API server runs on create (after the generic
// metadata checks): Default, PrepareForCreate, Validate.
func strategyCreate(s registry.Strategy, obj runtime.Object) field.ErrorList {
	if s.Default != nil {
		s.Default(obj)
	}
	if s.PrepareForCreate != nil {
		s.PrepareForCreate(obj)
	}
	if s.Validate == nil {
		return nil
	}
	return s.Validate(obj)
}

// strategyUpdate runs the update path: Default, PrepareForUpdate, Validate,
// ValidateUpdate.
func strategyUpdate(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	if s.Default != nil {
		s.Default(obj)
	}
	if s.PrepareForUpdate != nil {
		s.PrepareForUpdate(obj, old)
	}
	var errs field.ErrorList
	if s.Validate != nil {
		errs = s.Validate(obj)
	}
	if s.ValidateUpdate != nil {
		errs = append(errs, s.ValidateUpdate(obj, old)...)
	}
	return errs
}

// errWant is an expected error: its type, its path and, when set, a part of
// its detail.
type errWant struct {
	typ    field.ErrorType
	path   string
	detail string
}

// expectErrs compares errors with the expectation, ignoring order.
func expectErrs(t *testing.T, got field.ErrorList, want []errWant) {
	t.Helper()
	describe := func() string {
		var lines []string
		for _, e := range got {
			lines = append(lines, e.Error())
		}
		return strings.Join(lines, "\n  ")
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n  %s", len(got), len(want), describe())
	}
	gotKeys := make([]string, len(got))
	for i, e := range got {
		gotKeys[i] = string(e.Type) + " " + e.Field
	}
	wantKeys := make([]string, len(want))
	for i, w := range want {
		wantKeys[i] = string(w.typ) + " " + w.path
	}
	sort.Strings(gotKeys)
	sort.Strings(wantKeys)
	for i := range gotKeys {
		if gotKeys[i] != wantKeys[i] {
			t.Fatalf("errors differ: got %v, want %v:\n  %s", gotKeys, wantKeys, describe())
		}
	}
	for _, w := range want {
		if w.detail == "" {
			continue
		}
		found := false
		for _, e := range got {
			if e.Type == w.typ && e.Field == w.path && strings.Contains(e.Detail, w.detail) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s error at %s with detail %q:\n  %s", w.typ, w.path, w.detail, describe())
		}
	}
}

func TestRoundUpQuantities(t *testing.T) {
	list := corev1.ResourceList{
		"cpu":    resource.MustParse("0.1m"),
		"memory": resource.MustParse("1Gi"),
	}
	roundUpQuantities(list)
	cpu, mem := list["cpu"], list["memory"]
	if cpu.String() != "1m" || mem.String() != "1Gi" {
		t.Fatalf("got cpu %s memory %s, want 1m and 1Gi", cpu.String(), mem.String())
	}
	roundUpQuantities(list)
	if cpu := list["cpu"]; cpu.String() != "1m" {
		t.Fatalf("second rounding changed cpu to %s", cpu.String())
	}
}

func TestResourceNameErrs(t *testing.T) {
	cases := []struct {
		name      corev1.ResourceName
		container bool
		want      []errWant
	}{
		{name: "cpu", container: true},
		{name: "hugepages-2Mi", container: true},
		{name: "example.com/gpu", container: true},
		{name: "pods"},
		{name: "pods", container: true, want: []errWant{{field.ErrorTypeInvalid, "r", "must be a standard resource for containers"}}},
		{name: "bogus", want: []errWant{{field.ErrorTypeInvalid, "r", "must be a standard resource type or fully qualified"}}},
		{name: "bad name!", want: []errWant{{field.ErrorTypeInvalid, "r", "alphanumeric"}}},
	}
	for _, c := range cases {
		t.Run(string(c.name), func(t *testing.T) {
			fn := resourceNameErrs
			if c.container {
				fn = containerResourceNameErrs
			}
			expectErrs(t, fn(c.name, field.NewPath("r")), c.want)
		})
	}
}

func TestQuantityForResourceErrs(t *testing.T) {
	p := field.NewPath("q")
	expectErrs(t, quantityForResourceErrs("pods", resource.MustParse("1500m"), p),
		[]errWant{{field.ErrorTypeInvalid, "q", "must be an integer"}})
	expectErrs(t, quantityForResourceErrs("cpu", resource.MustParse("-1"), p),
		[]errWant{{field.ErrorTypeInvalid, "q", "must be greater than or equal to 0"}})
	expectErrs(t, quantityForResourceErrs("cpu", resource.MustParse("1500m"), p), nil)
}
