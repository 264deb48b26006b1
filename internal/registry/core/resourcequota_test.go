package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestQuotaValidate(t *testing.T) {
	q := resource.MustParse
	cases := []struct {
		name     string
		hard     corev1.ResourceList
		scopes   []corev1.ResourceQuotaScope
		selector *corev1.ScopeSelector
		want     []registrytest.Want
	}{
		{name: "valid", hard: corev1.ResourceList{"pods": q("10"), "requests.cpu": q("2"), "count/deployments.apps": q("5"), "requests.example.com/gpu": q("1")}},
		{name: "valid scopes", hard: corev1.ResourceList{"pods": q("5")}, scopes: []corev1.ResourceQuotaScope{"BestEffort", "Terminating"}},
		{name: "negative", hard: corev1.ResourceList{"memory": q("-1")},
			want: []registrytest.Want{registrytest.Invalid("spec.hard[memory]", "must be greater than or equal to 0")}},
		{name: "fractional count", hard: corev1.ResourceList{"pods": q("1.5")},
			want: []registrytest.Want{registrytest.Invalid("spec.hard[pods]", "must be an integer")}},
		{name: "not for quota", hard: corev1.ResourceList{"storage": q("1Gi")},
			want: []registrytest.Want{registrytest.Invalid("spec.hard[storage]", "must be a standard resource for quota")}},
		{name: "unknown name", hard: corev1.ResourceList{"widgets": q("1")}, want: []registrytest.Want{
			registrytest.Invalid("spec.hard[widgets]", "must be a standard resource type or fully qualified"),
			registrytest.Invalid("spec.hard[widgets]", "must be a standard resource for quota")}},
		{name: "unsupported scope", hard: corev1.ResourceList{"pods": q("1")}, scopes: []corev1.ResourceQuotaScope{"Sometimes"},
			want: []registrytest.Want{registrytest.Invalid("spec.scopes", "unsupported scope")}},
		{name: "scope not for resource", hard: corev1.ResourceList{"services": q("1")}, scopes: []corev1.ResourceQuotaScope{"BestEffort"},
			want: []registrytest.Want{registrytest.Invalid("spec.scopes", "unsupported scope applied to resource")}},
		{name: "conflicting scopes", hard: corev1.ResourceList{"pods": q("1")}, scopes: []corev1.ResourceQuotaScope{"Terminating", "NotTerminating"},
			want: []registrytest.Want{registrytest.Invalid("spec.scopes", "conflicting scopes")}},
		{name: "selector operator", hard: corev1.ResourceList{"pods": q("1")}, selector: &corev1.ScopeSelector{
			MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{ScopeName: "PriorityClass", Operator: "In"}}},
			want: []registrytest.Want{registrytest.Required("spec.scopeSelector.matchExpressions.values", "must be at least one value")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "default"},
				Spec: corev1.ResourceQuotaSpec{Hard: c.hard, Scopes: c.scopes, ScopeSelector: c.selector}}
			registrytest.ExpectExactly(t, strategyCreate(quotaStrategy, rq), c.want...)
		})
	}
}

func TestQuotaUpdate(t *testing.T) {
	old := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("5")},
		Scopes: []corev1.ResourceQuotaScope{"BestEffort"}}}
	grow := old.DeepCopy()
	grow.Spec.Hard["pods"] = resource.MustParse("10")
	registrytest.ExpectValid(t, strategyUpdate(quotaStrategy, grow, old))
	rescope := old.DeepCopy()
	rescope.Spec.Scopes = []corev1.ResourceQuotaScope{"NotBestEffort"}
	registrytest.ExpectExactly(t, strategyUpdate(quotaStrategy, rescope, old), registrytest.Invalid("spec.scopes", "field is immutable"))
	bad := old.DeepCopy()
	bad.Status.Used = corev1.ResourceList{"pods": resource.MustParse("-1")}
	registrytest.ExpectExactly(t, quotaStrategy.ValidateStatus(bad, old), registrytest.Invalid("status.used[pods]", ""))
}

func TestQuotaTable(t *testing.T) {
	q := resource.MustParse
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute"}, Status: corev1.ResourceQuotaStatus{
		Hard: corev1.ResourceList{"requests.cpu": q("1"), "limits.memory": q("2Gi"), "pods": q("10"), "limits.cpu": q("2")},
		Used: corev1.ResourceList{"requests.cpu": q("500m"), "pods": q("3")},
	}}
	want := []interface{}{"compute", "<unknown>", "pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 0/2, limits.memory: 0/2Gi"}
	if row := quotaTable.Row(rq); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %#v\nwant  %#v", row, want)
	}
}
