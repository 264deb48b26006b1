package apiresources

import (
	"errors"
	"reflect"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

// preferredFake answers the ServerPreferred* calls from the fake's
// Resources, the way the real discovery client does (the fake alone
// answers them with nothing).
type preferredFake struct {
	*fakediscovery.FakeDiscovery
}

func (f preferredFake) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return discovery.ServerPreferredResources(f.FakeDiscovery)
}

func (f preferredFake) ServerPreferredNamespacedResources() ([]*metav1.APIResourceList, error) {
	return discovery.ServerPreferredNamespacedResources(f.FakeDiscovery)
}

var all = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

func newFake() preferredFake {
	return preferredFake{&fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Namespaced: true, Verbs: all},
			{Name: "pods/status", Namespaced: true, Verbs: []string{"get", "patch", "update"}},
			{Name: "pods/log", Namespaced: true, Verbs: []string{"get"}},
			{Name: "namespaces", Verbs: all},
			{Name: "events", Namespaced: true, Verbs: all},
			{Name: "bindings", Namespaced: true, Verbs: []string{"create"}},
			{Name: "componentstatuses", Verbs: []string{"get", "list"}},
		}},
		// The first version listed is the fake's preferred one.
		{GroupVersion: "autoscaling/v2", APIResources: []metav1.APIResource{
			{Name: "horizontalpodautoscalers", Namespaced: true, Verbs: all},
		}},
		{GroupVersion: "autoscaling/v1", APIResources: []metav1.APIResource{
			{Name: "horizontalpodautoscalers", Namespaced: true, Verbs: all},
		}},
		{GroupVersion: "rbac.authorization.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "roles", Namespaced: true, Verbs: []string{"create", "delete", "get", "list", "update", "watch"}},
			{Name: "clusterroles", Verbs: all},
		}},
	}}}}
}

func sorted(gvrs []schema.GroupVersionResource) []string {
	out := []string{}
	for _, gvr := range gvrs {
		out = append(out, gvr.String())
	}
	sort.Strings(out)
	return out
}

func TestDiscover(t *testing.T) {
	cases := []struct {
		name       string
		namespaced bool
		verbs      []string
		want       []string
	}{
		{"namespaced, list and delete", true, []string{"list", "delete"}, []string{
			"/v1, Resource=events",
			"/v1, Resource=pods",
			"autoscaling/v2, Resource=horizontalpodautoscalers",
			"rbac.authorization.k8s.io/v1, Resource=roles",
		}},
		{"all, list watch delete patch", false, []string{"list", "watch", "delete", "patch"}, []string{
			"/v1, Resource=events",
			"/v1, Resource=namespaces",
			"/v1, Resource=pods",
			"autoscaling/v2, Resource=horizontalpodautoscalers",
			"rbac.authorization.k8s.io/v1, Resource=clusterroles",
		}},
		{"all, list", false, []string{"list"}, []string{
			"/v1, Resource=componentstatuses",
			"/v1, Resource=events",
			"/v1, Resource=namespaces",
			"/v1, Resource=pods",
			"autoscaling/v2, Resource=horizontalpodautoscalers",
			"rbac.authorization.k8s.io/v1, Resource=clusterroles",
			"rbac.authorization.k8s.io/v1, Resource=roles",
		}},
		{"no verbs: every resource but subresources", true, nil, []string{
			"/v1, Resource=bindings",
			"/v1, Resource=events",
			"/v1, Resource=pods",
			"autoscaling/v2, Resource=horizontalpodautoscalers",
			"rbac.authorization.k8s.io/v1, Resource=roles",
		}},
		{"a verb nothing has", false, []string{"list", "proxy"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Discover(newFake(), c.namespaced, c.verbs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sorted(got), c.want) {
				t.Errorf("got %v\nwant %v", sorted(got), c.want)
			}
		})
	}
}

func TestDiscoverError(t *testing.T) {
	for _, namespaced := range []bool{true, false} {
		f := newFake()
		f.PrependReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("server unavailable")
		})
		got, err := Discover(f, namespaced, "list")
		if err == nil || got != nil {
			t.Errorf("namespaced %v: got %v, %v; want no resources and an error", namespaced, got, err)
		}
	}
}
