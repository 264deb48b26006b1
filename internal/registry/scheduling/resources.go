// Package scheduling describes scheduling.k8s.io/v1 PriorityClasses.
package scheduling

import (
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the scheduling.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "scheduling.k8s.io", Version: "v1",
		Resource: "priorityclasses", Kind: "PriorityClass", ShortNames: []string{"pc"},
		New:      func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList:  func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Strategy: priorityClassStrategy,
		Table:    priorityClassTable,
	}}
}
