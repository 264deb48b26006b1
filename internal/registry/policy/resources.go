// Package policy describes policy/v1 PodDisruptionBudgets.
package policy

import (
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the policy/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "policy", Version: "v1",
		Resource: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true, ShortNames: []string{"pdb"},
		Status: true, Generation: true,
		New:      func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList:  func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		Strategy: pdbStrategy,
		Table:    pdbTable,
	}}
}
