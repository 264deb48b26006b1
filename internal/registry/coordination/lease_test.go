package coordination

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func ptr[T any](v T) *T { return &v }

func TestLeaseValidate(t *testing.T) {
	oldest := coordinationv1.OldestEmulationVersion
	cases := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []registrytest.Want
	}{
		{"empty", coordinationv1.LeaseSpec{}, nil},
		{"valid", coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr(int32(40)), LeaseTransitions: ptr(int32(0))}, nil},
		{"strategy and preferred holder", coordinationv1.LeaseSpec{Strategy: &oldest, PreferredHolder: ptr("a")}, nil},
		{"custom strategy", coordinationv1.LeaseSpec{Strategy: ptr(coordinationv1.CoordinatedLeaseStrategy("example.com/mine"))}, nil},
		{"zero duration", coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr(int32(0))},
			[]registrytest.Want{registrytest.Invalid("spec.leaseDurationSeconds", "must be greater than 0")}},
		{"negative transitions", coordinationv1.LeaseSpec{LeaseTransitions: ptr(int32(-1))},
			[]registrytest.Want{registrytest.Invalid("spec.leaseTransitions", "must be greater than or equal to 0")}},
		{"unknown strategy", coordinationv1.LeaseSpec{Strategy: ptr(coordinationv1.CoordinatedLeaseStrategy("Newest"))},
			[]registrytest.Want{registrytest.NotSupported("spec.strategy.strategy", "")}},
		{"bad custom strategy", coordinationv1.LeaseSpec{Strategy: ptr(coordinationv1.CoordinatedLeaseStrategy("a/b/c"))},
			[]registrytest.Want{registrytest.Invalid("spec.strategy.strategy", "")}},
		{"preferred holder without strategy", coordinationv1.LeaseSpec{PreferredHolder: ptr("a")},
			[]registrytest.Want{registrytest.Forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "kube-node-lease"}, Spec: tc.spec}
			registrytest.ExpectExactly(t, leaseStrategy.Validate(lease), tc.want...)
		})
	}
}

func TestLeaseTable(t *testing.T) {
	names := []string{}
	for _, c := range leaseTable.Columns {
		names = append(names, c.Name)
	}
	if len(names) != 3 || names[0] != "Name" || names[1] != "Holder" || names[2] != "Age" {
		t.Fatalf("columns %v", names)
	}
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(time.Now().Add(-3 * time.Hour))}}
	if row := leaseTable.Row(lease); row[0] != "n1" || row[1] != "" || row[2] != "3h" {
		t.Fatalf("row %v", row)
	}
	lease.Spec.HolderIdentity = ptr("node-1")
	if row := leaseTable.Row(lease); row[1] != "node-1" {
		t.Fatalf("row %v", row)
	}
}
