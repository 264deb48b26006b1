package scheduling

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func newClass(name string, value int32) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
	priorityClassStrategy.Default(pc)
	return pc
}

func TestPriorityClassDefault(t *testing.T) {
	pc := newClass("high", 1000)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("preemptionPolicy %v", pc.PreemptionPolicy)
	}
	never := corev1.PreemptNever
	pc.PreemptionPolicy = &never
	priorityClassStrategy.Default(pc)
	if *pc.PreemptionPolicy != corev1.PreemptNever {
		t.Fatal("defaulting overwrote preemptionPolicy")
	}
}

func TestPriorityClassValidate(t *testing.T) {
	cases := []struct {
		name   string
		pc     *schedulingv1.PriorityClass
		mutate func(*schedulingv1.PriorityClass)
		want   []registrytest.Want
	}{
		{"user class", newClass("high", 1000000000), nil, nil},
		{"negative value", newClass("low", -10), nil, nil},
		{"never preempt", newClass("batch", 10), func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptNever) }, nil},
		{"system class", newClass("system-node-critical", 2000001000), nil, nil},
		{"system class, global default", newClass("system-cluster-critical", 2000000000),
			func(pc *schedulingv1.PriorityClass) { pc.GlobalDefault = true },
			[]registrytest.Want{registrytest.Forbidden("metadata.name", "globalDefault of system-cluster-critical PriorityClass must be false")}},
		{"value too high", newClass("urgent", 1000000001), nil,
			[]registrytest.Want{registrytest.Forbidden("value", "maximum allowed value of a user defined priority is 1000000000")}},
		{"unknown system name", newClass("system-mine", 10), nil,
			[]registrytest.Want{registrytest.Forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class")}},
		{"wrong system value", newClass("system-node-critical", 5), nil,
			[]registrytest.Want{registrytest.Forbidden("metadata.name", "value of system-node-critical PriorityClass must be 2000001000")}},
		{"bad preemption policy", newClass("x", 1), func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("Always")) },
			[]registrytest.Want{registrytest.NotSupported("preemptionPolicy", "")}},
		{"empty preemption policy", newClass("x", 1), func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = ptr(corev1.PreemptionPolicy("")) },
			[]registrytest.Want{registrytest.Required("preemptionPolicy", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutate != nil {
				tc.mutate(tc.pc)
			}
			registrytest.ExpectExactly(t, priorityClassStrategy.Validate(tc.pc), tc.want...)
		})
	}
}

func TestPriorityClassValidateUpdate(t *testing.T) {
	old := newClass("high", 100)
	ok := old.DeepCopy()
	ok.Description, ok.GlobalDefault = "changed", true
	registrytest.ExpectValid(t, priorityClassStrategy.ValidateUpdate(ok, old))
	value := old.DeepCopy()
	value.Value = 200
	registrytest.ExpectExactly(t, priorityClassStrategy.ValidateUpdate(value, old), registrytest.Forbidden("value", "may not be changed in an update."))
	policy := old.DeepCopy()
	policy.PreemptionPolicy = ptr(corev1.PreemptNever)
	registrytest.ExpectExactly(t, priorityClassStrategy.ValidateUpdate(policy, old), registrytest.Invalid("preemptionPolicy", "field is immutable"))
}

func TestSystemPriorityClasses(t *testing.T) {
	classes := SystemPriorityClasses()
	values := map[string]int32{}
	for _, pc := range classes {
		values[pc.Name] = pc.Value
		registrytest.ExpectValid(t, priorityClassStrategy.Validate(pc))
		if pc.GlobalDefault || pc.Description == "" {
			t.Errorf("%s: %+v", pc.Name, pc)
		}
	}
	if len(classes) != 2 || values["system-cluster-critical"] != 2000000000 || values["system-node-critical"] != 2000001000 {
		t.Fatalf("classes %v", values)
	}
	classes[0].Value = 1
	if SystemPriorityClasses()[0].Value == 1 {
		t.Fatal("SystemPriorityClasses shares state between calls")
	}
}

func TestPriorityClassTable(t *testing.T) {
	var names []string
	for _, c := range priorityClassTable.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Name,Value,Global-Default,Age,PreemptionPolicy" {
		t.Fatalf("columns %v", names)
	}
	row := priorityClassTable.Row(SystemPriorityClasses()[1])
	want := []interface{}{"system-cluster-critical", int64(2000000000), false, "<unknown>", "PreemptLowerPriority"}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
