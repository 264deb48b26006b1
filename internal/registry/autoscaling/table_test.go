package autoscaling

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/registry"
)

func TestHPATable(t *testing.T) {
	names := []string{"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"}
	for _, table := range []*registry.Table{hpaV2Table, hpaV1Table} {
		if len(table.Columns) != len(names) || table.Columns[0] != registry.NameColumn {
			t.Fatalf("columns %+v", table.Columns)
		}
		for i, c := range table.Columns {
			if c.Name != names[i] || c.Priority != 0 {
				t.Errorf("column %d %q priority %d", i, c.Name, c.Priority)
			}
		}
	}

	h := validHPA()
	want := []interface{}{"web", "Deployment/web", "cpu: <unknown>/80%", "1", int64(10), int64(0), "10m"}
	row := hpaV2Table.Row(h)
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: i32(10)}}}}
	h.Status.CurrentReplicas = 3
	if got := hpaV2Table.Row(h); got[2] != "cpu: 10%/80%" || got[5] != int64(3) {
		t.Errorf("row %v", got)
	}
	// The v1 view prints the same.
	if got := hpaV1Table.Row(toV1(t, h)); got[2] != "cpu: 10%/80%" || got[1] != "Deployment/web" {
		t.Errorf("v1 row %v", got)
	}

	h.Spec.Metrics = allMetrics()
	if got := hpaV2Table.Row(h)[2]; got != "memory: <unknown>/500Mi, <unknown>/2k + 3 more..." {
		t.Errorf("targets %q", got)
	}
	h.Spec.Metrics = allMetrics()[2:]
	h.Status.CurrentMetrics = fullHPA().Status.CurrentMetrics[2:]
	if got := hpaV2Table.Row(h)[2]; got != "800/1k, cpu: 40%/60% + 1 more..." {
		t.Errorf("targets %q", got)
	}
	h.Spec.Metrics = allMetrics()[4:]
	h.Status.CurrentMetrics = fullHPA().Status.CurrentMetrics[4:]
	if got := hpaV2Table.Row(h)[2]; got != "12/30 (avg)" {
		t.Errorf("targets %q", got)
	}
	h.Spec.Metrics, h.Spec.MinReplicas = nil, nil
	if got := hpaV2Table.Row(h); got[2] != "<none>" || got[3] != "<unset>" {
		t.Errorf("row %v", got)
	}
}
