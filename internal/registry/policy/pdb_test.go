package policy

import (
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/registrytest"
)

func ios(s string) *intstr.IntOrString { v := intstr.Parse(s); return &v }

func validPDB() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
			CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute))},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ios("2"),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}
}

func TestPDBValidate(t *testing.T) {
	valid := map[string]func(*policyv1.PodDisruptionBudget){
		"min available":   func(*policyv1.PodDisruptionBudget) {},
		"percent":         func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ios("50%") },
		"max unavailable": func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable, p.Spec.MaxUnavailable = nil, ios("0") },
		"all pods":        func(p *policyv1.PodDisruptionBudget) { p.Spec.Selector = &metav1.LabelSelector{} },
		"no selector":     func(p *policyv1.PodDisruptionBudget) { p.Spec.Selector = nil },
		"always allow": func(p *policyv1.PodDisruptionBudget) {
			v := policyv1.AlwaysAllow
			p.Spec.UnhealthyPodEvictionPolicy = &v
		},
	}
	for name, mutate := range valid {
		p := validPDB()
		mutate(p)
		if errs := pdbStrategy.Validate(p); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
	cases := []struct {
		name   string
		mutate func(*policyv1.PodDisruptionBudget)
		want   registrytest.Want
	}{
		{"both", func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = ios("1") },
			registrytest.Invalid("spec", "minAvailable and maxUnavailable cannot be both set")},
		{"negative", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ios("-1") },
			registrytest.Invalid("spec.minAvailable", "must be greater than or equal to 0")},
		{"bad percent", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ios("half") },
			registrytest.Invalid("spec.minAvailable", "a valid percent string")},
		{"over 100%", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable, p.Spec.MaxUnavailable = nil, ios("120%") },
			registrytest.Invalid("spec.maxUnavailable", "must not be greater than 100%")},
		{"selector", func(p *policyv1.PodDisruptionBudget) { p.Spec.Selector.MatchLabels = map[string]string{"-x": "y"} },
			registrytest.Invalid("spec.selector.matchLabels", "")},
		{"eviction policy", func(p *policyv1.PodDisruptionBudget) {
			v := policyv1.UnhealthyPodEvictionPolicyType("Never")
			p.Spec.UnhealthyPodEvictionPolicy = &v
		}, registrytest.NotSupported("spec.unhealthyPodEvictionPolicy", "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPDB()
			c.mutate(p)
			registrytest.ExpectContains(t, pdbStrategy.Validate(p), c.want)
		})
	}
}

func TestPDBStatus(t *testing.T) {
	p := validPDB()
	p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 3, DesiredHealthy: 2, ExpectedPods: 3}
	registrytest.ExpectValid(t, pdbStrategy.ValidateStatus(p, p))
	p.Status.ExpectedPods = -1
	p.Status.Conditions = []metav1.Condition{{Type: "DisruptionAllowed", Status: "Maybe"}}
	errs := pdbStrategy.ValidateStatus(p, p)
	registrytest.ExpectContains(t, errs, registrytest.Invalid("status.expectedPods", ""))
	registrytest.ExpectContains(t, errs, registrytest.NotSupported("status.conditions[0].status", ""))
}

func TestPDBTable(t *testing.T) {
	names := []string{"Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"}
	if len(pdbTable.Columns) != len(names) || pdbTable.Columns[0] != registry.NameColumn {
		t.Fatalf("columns %+v", pdbTable.Columns)
	}
	for i, c := range pdbTable.Columns {
		if c.Name != names[i] || c.Priority != 0 {
			t.Errorf("column %d %q", i, c.Name)
		}
	}
	p := validPDB()
	p.Status.DisruptionsAllowed = 1
	want := []interface{}{"web", "2", "N/A", int64(1), "10m"}
	row := pdbTable.Row(p)
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	p.Spec.MinAvailable, p.Spec.MaxUnavailable = nil, ios("25%")
	if row := pdbTable.Row(p); row[1] != "N/A" || row[2] != "25%" {
		t.Errorf("row %v", row)
	}
}
