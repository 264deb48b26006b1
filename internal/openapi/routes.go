package openapi

import (
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/skiff/skiff/internal/registry"
)

// routeContainers describes every served path, grouped by group/version.
func routeContainers(resources []*registry.Resource) map[schema.GroupVersion][]common.RouteContainer {
	out := map[schema.GroupVersion][]common.RouteContainer{}
	for _, res := range resources {
		gv := res.GroupVersion()
		c := &container{root: "/" + gvPath(gv)}
		addResourceRoutes(c, res)
		out[gv] = append(out[gv], c)
	}
	return out
}

type container struct {
	root   string
	routes []common.Route
}

func (c *container) RootPath() string                   { return c.root }
func (c *container) PathParameters() []common.Parameter { return nil }
func (c *container) Routes() []common.Route             { return c.routes }
func (c *container) add(r *route)                       { c.routes = append(c.routes, r) }

// opNamer builds upstream-style operation IDs: listAppsV1NamespacedDeployment.
type opNamer struct {
	gv, kind string
}

func newOpNamer(res *registry.Resource) opNamer {
	g := res.Group
	if g == "" {
		g = "core"
	}
	g = strings.TrimSuffix(g, ".k8s.io")
	var b strings.Builder
	for _, part := range strings.FieldsFunc(g, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return opNamer{gv: b.String() + strings.ToUpper(res.Version[:1]) + res.Version[1:], kind: res.Kind}
}

func (n opNamer) op(verb string, namespaced bool, suffix string) string {
	ns := ""
	if namespaced {
		ns = "Namespaced"
	}
	return verb + n.gv + ns + n.kind + suffix
}

func addResourceRoutes(c *container, res *registry.Resource) {
	gvk := res.GVK()
	n := newOpNamer(res)
	collection := c.root + "/" + res.Resource
	if res.Namespaced {
		collection = c.root + "/namespaces/{namespace}/" + res.Resource
	}
	item := collection + "/{name}"
	base := routeBase{gvk: gvk, namespaced: res.Namespaced}
	if res.NewList == nil { // create-only (bindings)
		c.add(base.create(collection, n.op("create", res.Namespaced, ""), res.New()))
		return
	}
	obj, list := res.New(), res.NewList()
	verbs := res.VerbsOf()
	has := func(v string) bool {
		for _, x := range verbs {
			if x == v {
				return true
			}
		}
		return false
	}
	if has("list") {
		c.add(base.list(collection, n.op("list", res.Namespaced, ""), list))
		if res.Namespaced {
			c.add(base.list(c.root+"/"+res.Resource, n.op("list", false, "ForAllNamespaces"), list))
		}
	}
	if has("create") {
		c.add(base.create(collection, n.op("create", res.Namespaced, ""), obj))
	}
	if has("deletecollection") {
		c.add(base.deleteCollection(collection, "delete"+n.gv+"Collection"+map[bool]string{true: "Namespaced"}[res.Namespaced]+res.Kind))
	}
	c.add(base.get(item, n.op("read", res.Namespaced, ""), obj))
	c.add(base.put(item, n.op("replace", res.Namespaced, ""), obj))
	c.add(base.patch(item, n.op("patch", res.Namespaced, ""), obj))
	c.add(base.delete(item, n.op("delete", res.Namespaced, ""), obj))
	if res.Status {
		addSubresource(c, base, item+"/status", n, res.Namespaced, "Status", obj)
	}
	if res.Scale != nil {
		sb := base
		sb.gvk = autoscalingv1.SchemeGroupVersion.WithKind("Scale")
		addSubresource(c, sb, item+"/scale", n, res.Namespaced, "Scale", &autoscalingv1.Scale{})
	}
	if res.Kind == "Pod" && res.Group == "" {
		bb := base
		bb.gvk = corev1.SchemeGroupVersion.WithKind("Binding")
		c.add(bb.create(item+"/binding", n.op("create", true, "Binding"), &corev1.Binding{}))
		eb := base
		eb.gvk = policyv1.SchemeGroupVersion.WithKind("Eviction")
		c.add(eb.create(item+"/eviction", n.op("create", true, "Eviction"), &policyv1.Eviction{}))
	}
}

func addSubresource(c *container, base routeBase, path string, n opNamer, namespaced bool, suffix string, obj interface{}) {
	c.add(base.get(path, n.op("read", namespaced, suffix), obj))
	c.add(base.put(path, n.op("replace", namespaced, suffix), obj))
	c.add(base.patch(path, n.op("patch", namespaced, suffix), obj))
}
