package core

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestLimitRangeDefault(t *testing.T) {
	q := resource.MustParse
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
		{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": q("2")}, Min: corev1.ResourceList{"memory": q("64Mi")},
			Default: corev1.ResourceList{"memory": q("256Mi")}},
		{Type: corev1.LimitTypePod, Max: corev1.ResourceList{"cpu": q("4")}},
	}}}
	limitRangeStrategy.Default(lr)
	c := lr.Spec.Limits[0]
	if d := c.Default["cpu"]; d.String() != "2" {
		t.Errorf("default cpu = %s, want max 2", d.String())
	}
	if r := c.DefaultRequest["cpu"]; r.String() != "2" {
		t.Errorf("default request cpu = %s, want default 2", r.String())
	}
	if r := c.DefaultRequest["memory"]; r.String() != "256Mi" {
		t.Errorf("default request memory = %s, want default 256Mi (not min)", r.String())
	}
	if p := lr.Spec.Limits[1]; p.Default != nil || p.DefaultRequest != nil {
		t.Errorf("Pod item got defaults: %+v", p)
	}
}

func TestLimitRangeValidate(t *testing.T) {
	q := resource.MustParse
	item := func(t corev1.LimitType) corev1.LimitRangeItem { return corev1.LimitRangeItem{Type: t} }
	cases := []struct {
		name  string
		items []corev1.LimitRangeItem
		want  []registrytest.Want
	}{
		{name: "valid", items: []corev1.LimitRangeItem{
			{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": q("2")}, Min: corev1.ResourceList{"cpu": q("100m")},
				MaxLimitRequestRatio: corev1.ResourceList{"cpu": q("4")}},
			{Type: corev1.LimitTypePersistentVolumeClaim, Max: corev1.ResourceList{"storage": q("10Gi")}}}},
		{name: "duplicate type", items: []corev1.LimitRangeItem{item(corev1.LimitTypePod), item(corev1.LimitTypePod)},
			want: []registrytest.Want{registrytest.Duplicate("spec.limits[1].type", "")}},
		{name: "unknown type", items: []corev1.LimitRangeItem{item("Node")},
			want: []registrytest.Want{registrytest.Invalid("spec.limits[0].type", "must be a standard limit type or fully qualified")}},
		{name: "min above max", items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod,
			Max: corev1.ResourceList{"memory": q("1Gi")}, Min: corev1.ResourceList{"memory": q("2Gi")}}},
			want: []registrytest.Want{registrytest.Invalid("spec.limits[0].min[memory]", "min value 2Gi is greater than max value 1Gi")}},
		{name: "pod default", items: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Default: corev1.ResourceList{"cpu": q("1")}}},
			want: []registrytest.Want{registrytest.Forbidden("spec.limits[0].default", "may not be specified when `type` is 'Pod'")}},
		{name: "pvc without storage bounds", items: []corev1.LimitRangeItem{item(corev1.LimitTypePersistentVolumeClaim)},
			want: []registrytest.Want{registrytest.Required("spec.limits[0].limits", "either minimum or maximum storage value is required")}},
		{name: "ratio below one", items: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: corev1.ResourceList{"cpu": q("500m")}}},
			want: []registrytest.Want{registrytest.Invalid("spec.limits[0].maxLimitRequestRatio[cpu]", "ratio 500m is less than 1")}},
		{name: "container resource", items: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"pods": q("1")}}},
			// The defaulted default and defaultRequest repeat the error.
			want: []registrytest.Want{registrytest.Invalid("spec.limits[0].max[pods]", "must be a standard resource for containers"),
				registrytest.Invalid("spec.limits[0].default[pods]", ""), registrytest.Invalid("spec.limits[0].defaultRequest[pods]", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Spec: corev1.LimitRangeSpec{Limits: c.items}}
			registrytest.ExpectExactly(t, strategyCreate(limitRangeStrategy, lr), c.want...)
		})
	}
}

func TestLimitRangeTable(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: metav1.NewTime(created)}}
	row := limitRangeTable.Row(lr)
	if row[0] != "limits" || row[1] != "2026-01-02T03:04:05Z" || limitRangeTable.Columns[1].Name != "Created At" {
		t.Errorf("row = %v", row)
	}
}
