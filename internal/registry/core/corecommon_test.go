package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/registrytest"
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
		want      []registrytest.Want
	}{
		{name: "cpu", container: true},
		{name: "hugepages-2Mi", container: true},
		{name: "example.com/gpu", container: true},
		{name: "pods"},
		{name: "pods", container: true, want: []registrytest.Want{registrytest.Invalid("r", "must be a standard resource for containers")}},
		{name: "bogus", want: []registrytest.Want{registrytest.Invalid("r", "must be a standard resource type or fully qualified")}},
		{name: "bad name!", want: []registrytest.Want{registrytest.Invalid("r", "alphanumeric")}},
	}
	for _, c := range cases {
		t.Run(string(c.name), func(t *testing.T) {
			fn := resourceNameErrs
			if c.container {
				fn = containerResourceNameErrs
			}
			registrytest.ExpectExactly(t, fn(c.name, field.NewPath("r")), c.want...)
		})
	}
}

func TestQuantityForResourceErrs(t *testing.T) {
	p := field.NewPath("q")
	registrytest.ExpectExactly(t, quantityForResourceErrs("pods", resource.MustParse("1500m"), p),
		registrytest.Invalid("q", "must be an integer"))
	registrytest.ExpectExactly(t, quantityForResourceErrs("cpu", resource.MustParse("-1"), p),
		registrytest.Invalid("q", "must be greater than or equal to 0"))
	registrytest.ExpectValid(t, quantityForResourceErrs("cpu", resource.MustParse("1500m"), p))
}
