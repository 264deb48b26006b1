package registrytest

import (
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed, fatal bool
	msgs          []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...interface{}) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...interface{}) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

// run calls check with a recorder, on its own goroutine so that Fatalf can
// stop it.
func run(check func(testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r
}

func TestExpectExactly(t *testing.T) {
	p := field.NewPath("spec")
	errs := field.ErrorList{
		field.Invalid(p.Child("a"), 1, "must be positive"),
		field.Invalid(p.Child("a"), 1, "must be odd"),
		field.Required(p.Child("b"), "b is required"),
	}
	cases := []struct {
		name  string
		wants []Want
		fail  bool
		fatal bool
	}{
		{"any order", []Want{Required("spec.b", ""), Invalid("spec.a", "odd"), Invalid("spec.a", "positive")}, false, false},
		// A greedy pairing would give the first error to the want without a
		// detail and then find nothing for "positive".
		{"pairing does not depend on order", []Want{Invalid("spec.a", ""), Invalid("spec.a", "positive"), Required("spec.b", "required")}, false, false},
		{"missing", []Want{Invalid("spec.a", ""), Required("spec.b", "")}, true, true},
		{"extra", []Want{Invalid("spec.a", ""), Invalid("spec.a", ""), Required("spec.b", ""), Forbidden("spec.c", "")}, true, true},
		{"wrong detail", []Want{Invalid("spec.a", "odd"), Invalid("spec.a", "even"), Required("spec.b", "")}, true, false},
		{"one error for two wants", []Want{Invalid("spec.a", "odd"), Invalid("spec.a", "odd"), Required("spec.b", "")}, true, false},
		{"wrong type", []Want{Invalid("spec.a", ""), Invalid("spec.a", ""), Forbidden("spec.b", "")}, true, false},
		{"wrong path", []Want{Invalid("spec.a", ""), Invalid("spec.a", ""), Required("spec", "")}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(func(tb testing.TB) { ExpectExactly(tb, errs, c.wants...) })
			if r.failed != c.fail || r.fatal != c.fatal {
				t.Errorf("failed %v fatal %v, want %v and %v: %v", r.failed, r.fatal, c.fail, c.fatal, r.msgs)
			}
		})
	}
	if r := run(func(tb testing.TB) { ExpectExactly(tb, nil) }); r.failed {
		t.Errorf("no errors, no wants: %v", r.msgs)
	}
}

func TestExactDetails(t *testing.T) {
	errs := field.ErrorList{field.NotSupported(field.NewPath("os"), "mac", []string{"linux", "windows"})}
	detail := errs[0].Detail
	for _, c := range []struct {
		want Want
		fail bool
	}{
		{NotSupported("os", `"linux"`), false},
		{ExactDetails(NotSupported("os", `"linux"`))[0], true},
		{ExactDetails(NotSupported("os", detail))[0], false},
		{ExactDetails(NotSupported("os", ""))[0], false},
	} {
		if r := run(func(tb testing.TB) { ExpectExactly(tb, errs, c.want) }); r.failed != c.fail {
			t.Errorf("%v against %q: failed %v, want %v", c.want, detail, r.failed, c.fail)
		}
	}
}

func TestExpectContainsAndValid(t *testing.T) {
	errs := field.ErrorList{
		field.Forbidden(field.NewPath("x"), "may not be set"),
		field.Duplicate(field.NewPath("y").Index(1), "b"),
	}
	if r := run(func(tb testing.TB) { ExpectContains(tb, errs, Duplicate("y[1]", "")) }); r.failed {
		t.Errorf("duplicate not found: %v", r.msgs)
	}
	if r := run(func(tb testing.TB) { ExpectContains(tb, errs, Forbidden("x", "may not")) }); r.failed {
		t.Errorf("forbidden not found: %v", r.msgs)
	}
	if r := run(func(tb testing.TB) { ExpectContains(tb, errs, Forbidden("x", "must")) }); !r.failed {
		t.Error("wrong detail found")
	}
	if r := run(func(tb testing.TB) { ExpectContains(tb, errs, Invalid("x", "")) }); !r.failed {
		t.Error("wrong type found")
	}
	if r := run(func(tb testing.TB) { ExpectValid(tb, errs) }); !r.failed || r.fatal {
		t.Errorf("ExpectValid: failed %v fatal %v", r.failed, r.fatal)
	}
	if r := run(func(tb testing.TB) { ExpectValid(tb, nil) }); r.failed {
		t.Errorf("ExpectValid(nil): %v", r.msgs)
	}
}
