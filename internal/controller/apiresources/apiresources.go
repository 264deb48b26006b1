// Package apiresources picks, from what the API server's discovery
// reports, the resources a controller can work on.
package apiresources

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Discover returns the resources, at their preferred versions, that
// support all of verbs: only namespaced ones if namespacedOnly is set.
// Subresources ("pods/status") are left out. A discovery failure, even
// for some groups only, is an error and returns no resources.
func Discover(d discovery.DiscoveryInterface, namespacedOnly bool, verbs ...string) ([]schema.GroupVersionResource, error) {
	var lists []*metav1.APIResourceList
	var err error
	if namespacedOnly {
		lists, err = d.ServerPreferredNamespacedResources()
	} else {
		lists, err = d.ServerPreferredResources()
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var out []schema.GroupVersionResource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerbs(r.Verbs, verbs) {
				continue
			}
			out = append(out, gv.WithResource(r.Name))
		}
	}
	return out, nil
}

// hasVerbs says whether have includes every verb of want.
func hasVerbs(have []string, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, v := range have {
		set[v] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}
