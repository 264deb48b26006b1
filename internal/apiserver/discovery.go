package apiserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry"
)

// discovery holds the discovery documents, computed once: the resources
// never change while the server runs.
type discovery struct {
	groups    []metav1.APIGroup                  // non-core groups, in order
	resources map[string]*metav1.APIResourceList // by "v1" or "group/version"
	core      apidiscoveryv2.APIGroupDiscoveryList
	named     apidiscoveryv2.APIGroupDiscoveryList
}

// preferredVersion picks the first version listed for a group, except
// where Kubernetes prefers another.
var preferredVersion = map[string]string{"autoscaling": "v2"}

func newDiscovery(resources []*registry.Resource) *discovery {
	d := &discovery{resources: map[string]*metav1.APIResourceList{}}
	versions := map[string][]string{}
	var order []string
	for _, res := range resources {
		gv := res.GroupVersion().String()
		list, ok := d.resources[gv]
		if !ok {
			list = &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv}
			d.resources[gv] = list
			if _, seen := versions[res.Group]; !seen {
				order = append(order, res.Group)
			}
			versions[res.Group] = append(versions[res.Group], res.Version)
		}
		list.APIResources = append(list.APIResources, apiResources(res)...)
	}
	for _, g := range order {
		vs := versions[g]
		sortVersions(g, vs)
		if g == "" {
			d.core.Items = append(d.core.Items, d.aggregated(g, vs, resources))
			continue
		}
		grp := metav1.APIGroup{Name: g}
		for _, v := range vs {
			grp.Versions = append(grp.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g + "/" + v, Version: v})
		}
		grp.PreferredVersion = grp.Versions[0]
		d.groups = append(d.groups, grp)
		d.named.Items = append(d.named.Items, d.aggregated(g, vs, resources))
	}
	return d
}

func sortVersions(group string, vs []string) {
	pref := preferredVersion[group]
	sort.SliceStable(vs, func(i, j int) bool { return vs[i] == pref && vs[j] != pref })
}

// apiResources lists a resource and its subresources for /apis/<g>/<v>.
func apiResources(res *registry.Resource) []metav1.APIResource {
	main := metav1.APIResource{
		Name: res.Resource, SingularName: singular(res), Namespaced: res.Namespaced, Kind: res.Kind,
		Verbs: res.VerbsOf(), ShortNames: res.ShortNames, Categories: res.Categories,
	}
	out := []metav1.APIResource{main}
	sub := func(name, group, version, kind string, verbs ...string) {
		out = append(out, metav1.APIResource{Name: res.Resource + "/" + name, Namespaced: res.Namespaced, Group: group, Version: version, Kind: kind, Verbs: verbs})
	}
	if res.Status {
		sub("status", "", "", res.Kind, "get", "patch", "update")
	}
	if res.Scale != nil {
		sub("scale", "autoscaling", "v1", "Scale", "get", "patch", "update")
	}
	if res.Kind == "Pod" && res.Group == "" {
		sub("binding", "", "", "Binding", "create")
		sub("eviction", "policy", "v1", "Eviction", "create")
		sub("log", "", "", "Pod", "get")
	}
	if res.Kind == "Namespace" {
		sub("finalize", "", "", "Namespace", "update")
	}
	return out
}

func singular(res *registry.Resource) string {
	if res.Singular != "" {
		return res.Singular
	}
	return strings.ToLower(res.Kind)
}

func (d *discovery) aggregated(group string, versions []string, resources []*registry.Resource) apidiscoveryv2.APIGroupDiscovery {
	g := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: group}}
	for _, v := range versions {
		av := apidiscoveryv2.APIVersionDiscovery{Version: v, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range resources {
			if res.Group == group && res.Version == v {
				av.Resources = append(av.Resources, aggregatedResource(res))
			}
		}
		g.Versions = append(g.Versions, av)
	}
	return g
}

func aggregatedResource(res *registry.Resource) apidiscoveryv2.APIResourceDiscovery {
	scope := apidiscoveryv2.ScopeCluster
	if res.Namespaced {
		scope = apidiscoveryv2.ScopeNamespace
	}
	kind := res.GVK()
	r := apidiscoveryv2.APIResourceDiscovery{
		Resource: res.Resource, ResponseKind: &metav1.GroupVersionKind{Group: kind.Group, Version: kind.Version, Kind: kind.Kind},
		Scope: scope, SingularResource: singular(res), Verbs: res.VerbsOf(), ShortNames: res.ShortNames, Categories: res.Categories,
	}
	for _, s := range apiResources(res)[1:] {
		k := metav1.GroupVersionKind{Group: s.Group, Version: s.Version, Kind: s.Kind}
		if s.Group == "" && s.Version == "" {
			k = metav1.GroupVersionKind{Group: kind.Group, Version: kind.Version, Kind: s.Kind}
		}
		if s.Kind == autoscalingv1.SchemeGroupVersion.WithKind("Scale").Kind {
			k.Group, k.Version = "autoscaling", "v1"
		}
		r.Subresources = append(r.Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: strings.TrimPrefix(s.Name, res.Resource+"/"), ResponseKind: &k, Verbs: s.Verbs,
		})
	}
	return r
}

func (d *discovery) rootPaths() []string {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"}
	for _, g := range d.groups {
		paths = append(paths, "/apis/"+g.Name)
		for _, v := range g.Versions {
			paths = append(paths, "/apis/"+v.GroupVersion)
		}
	}
	sort.Strings(paths)
	return paths
}

// serveDiscovery answers the discovery paths; false means the path is not
// a discovery path.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) bool {
	parts := splitPath(r.URL.Path)
	d := s.discovery
	switch {
	case len(parts) == 1 && parts[0] == "api":
		s.writeDiscovery(w, r, &d.core, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
		})
	case len(parts) == 1 && parts[0] == "apis":
		s.writeDiscovery(w, r, &d.named, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: d.groups})
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		s.writeJSON(w, http.StatusOK, d.resources["v1"])
	case len(parts) == 2 && parts[0] == "apis":
		for _, g := range d.groups {
			if g.Name == parts[1] {
				g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
				s.writeJSON(w, http.StatusOK, g)
				return true
			}
		}
		s.writeError(w, r, notFoundPath())
	case len(parts) == 3 && parts[0] == "apis":
		list, ok := d.resources[parts[1]+"/"+parts[2]]
		if !ok {
			s.writeError(w, r, notFoundPath())
			return true
		}
		s.writeJSON(w, http.StatusOK, list)
	default:
		return false
	}
	return true
}

// writeDiscovery answers /api and /apis in the aggregated form when asked
// for it, else in the legacy one.
func (s *Server) writeDiscovery(w http.ResponseWriter, r *http.Request, agg *apidiscoveryv2.APIGroupDiscoveryList, legacy interface{}) {
	choice, err := negotiate(r, s.codecs, outputDiscovery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if choice.output != outputDiscovery {
		s.writeJSON(w, http.StatusOK, legacy)
		return
	}
	out := *agg
	out.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/" + choice.version}
	b, err := json.Marshal(out)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaJSON+";g=apidiscovery.k8s.io;v="+choice.version+";as=APIGroupDiscoveryList")
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
