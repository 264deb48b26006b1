// Package networking describes networking.k8s.io/v1 NetworkPolicies,
// Ingresses and IngressClasses.
package networking

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the networking.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	rs := []*registry.Resource{
		{
			Resource: "ingressclasses", Kind: "IngressClass",
			New:      func() runtime.Object { return &networkingv1.IngressClass{} },
			NewList:  func() runtime.Object { return &networkingv1.IngressClassList{} },
			Strategy: ingressClassStrategy,
			Table:    ingressClassTable,
		},
		{
			Resource: "ingresses", Kind: "Ingress", Namespaced: true, ShortNames: []string{"ing"}, Status: true, Generation: true,
			New:      func() runtime.Object { return &networkingv1.Ingress{} },
			NewList:  func() runtime.Object { return &networkingv1.IngressList{} },
			Strategy: ingressStrategy,
			Table:    ingressTable,
		},
		{
			Resource: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true, ShortNames: []string{"netpol"}, Generation: true,
			New:      func() runtime.Object { return &networkingv1.NetworkPolicy{} },
			NewList:  func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
			Strategy: networkPolicyStrategy,
			Table:    networkPolicyTable,
		},
	}
	for _, r := range rs {
		r.Group, r.Version = "networking.k8s.io", "v1"
	}
	return rs
}
