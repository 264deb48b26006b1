// Package coordination describes coordination.k8s.io/v1 Leases.
package coordination

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the coordination.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "coordination.k8s.io", Version: "v1",
		Resource: "leases", Kind: "Lease", Namespaced: true,
		New:      func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:  func() runtime.Object { return &coordinationv1.LeaseList{} },
		Strategy: leaseStrategy,
		Table:    leaseTable,
	}}
}
