// Package openapi serves /openapi/v2 and /openapi/v3 for the resources skiff
// serves. The schema definitions are generated from k8s.io/api by
// kube-openapi's openapi-gen (zz_generated.openapi.go, `make generate`); the
// paths are built here from the resource table, with the parameters kubectl
// looks for (fieldValidation on PATCH tells it the server validates).
package openapi

//go:generate sh ../../hack/update-openapi.sh

import (
	"net/http"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/skiff/skiff/internal/registry"
)

// Handler serves the OpenAPI documents. They are built on first request
// and kept as encoded bytes.
type Handler struct {
	mux *http.ServeMux
}

// NewHandler returns a handler for /openapi/v2 and /openapi/v3/... .
func NewHandler(resources []*registry.Resource, scheme *runtime.Scheme, version string) *Handler {
	namer := newNamer(scheme)
	containers := routeContainers(resources)
	h := &Handler{mux: http.NewServeMux()}

	v2 := handler.NewOpenAPIServiceLazy(cached.Func(func() (*spec.Swagger, string, error) {
		sw, err := builder.BuildOpenAPISpecFromRoutes(allContainers(containers), &common.Config{
			Info:                           &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
			GetDefinitions:                 GetOpenAPIDefinitions,
			GetDefinitionName:              namer.name,
			GetOperationIDAndTagsFromRoute: operationID,
		})
		return sw, "v2", err
	}))
	v2.RegisterOpenAPIVersionedService("/openapi/v2", h.mux)

	v3 := handler3.NewOpenAPIService()
	for gv, cs := range containers {
		cs := cs
		v3.UpdateGroupVersionLazy(gvPath(gv), cached.Func(func() (*spec3.OpenAPI, string, error) {
			doc, err := builder3.BuildOpenAPISpecFromRoutes(cs, &common.OpenAPIV3Config{
				Info:                           &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: version}},
				GetDefinitions:                 GetOpenAPIDefinitions,
				GetDefinitionName:              namer.name,
				GetOperationIDAndTagsFromRoute: operationID,
			})
			return doc, gvPath(gv), err
		}))
	}
	_ = v3.RegisterOpenAPIV3VersionedService("/openapi/v3", muxAdapter{h.mux})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

type muxAdapter struct{ *http.ServeMux }

func (m muxAdapter) HandlePrefix(prefix string, h http.Handler) { m.ServeMux.Handle(prefix, h) }

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func allContainers(byGV map[schema.GroupVersion][]common.RouteContainer) []common.RouteContainer {
	var all []common.RouteContainer
	for _, cs := range byGV {
		all = append(all, cs...)
	}
	return all
}

func operationID(r common.Route) (string, []string, error) {
	return r.OperationName(), []string{strings.SplitN(r.OperationName(), "V", 2)[0]}, nil
}

// namer names definitions by their model names and marks the top-level
// kinds with x-kubernetes-group-version-kind, which kubectl needs.
type namer struct {
	gvks map[string][]interface{}
}

func newNamer(scheme *runtime.Scheme) *namer {
	n := &namer{gvks: map[string][]interface{}{}}
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		name := util.GetCanonicalTypeName(reflect.New(t).Interface())
		n.gvks[name] = append(n.gvks[name], map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
	}
	return n
}

func (n *namer) name(name string) (string, spec.Extensions) {
	if g, ok := n.gvks[name]; ok {
		return name, spec.Extensions{"x-kubernetes-group-version-kind": g}
	}
	return name, nil
}
