// Package discovery describes discovery.k8s.io/v1 EndpointSlices.
package discovery

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the discovery.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "discovery.k8s.io", Version: "v1",
		Resource: "endpointslices", Kind: "EndpointSlice", Namespaced: true,
		New:      func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:  func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Strategy: endpointSliceStrategy,
		Table:    endpointSliceTable,
	}}
}
