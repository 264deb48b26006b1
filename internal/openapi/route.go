package openapi

import (
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/common"
)

// route is one operation on a path.
type route struct {
	method, path, op, action string
	gvk                      schema.GroupVersionKind
	params                   []common.Parameter
	consumes                 []string
	request                  interface{}
	responses                []common.StatusCodeResponse
}

func (r *route) Method() string                                   { return r.method }
func (r *route) Path() string                                     { return r.path }
func (r *route) OperationName() string                            { return r.op }
func (r *route) Parameters() []common.Parameter                   { return r.params }
func (r *route) Description() string                              { return r.action + " " + r.gvk.Kind }
func (r *route) Consumes() []string                               { return r.consumes }
func (r *route) Produces() []string                               { return produces }
func (r *route) RequestPayloadSample() interface{}                { return r.request }
func (r *route) ResponsePayloadSample() interface{}               { return nil }
func (r *route) StatusCodeResponses() []common.StatusCodeResponse { return r.responses }
func (r *route) Metadata() map[string]interface{} {
	return map[string]interface{}{
		"x-kubernetes-action": r.action,
		"x-kubernetes-group-version-kind": map[string]string{
			"group": r.gvk.Group, "version": r.gvk.Version, "kind": r.gvk.Kind,
		},
	}
}

var produces = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}

type response struct {
	code  int
	model interface{}
}

func (r response) Code() int          { return r.code }
func (r response) Message() string    { return http.StatusText(r.code) }
func (r response) Model() interface{} { return r.model }

type param struct {
	name, typ string
	kind      common.ParameterKind
	required  bool
}

func (p param) Name() string               { return p.name }
func (p param) Description() string        { return p.name }
func (p param) Required() bool             { return p.required }
func (p param) Kind() common.ParameterKind { return p.kind }
func (p param) DataType() string           { return p.typ }
func (p param) AllowMultiple() bool        { return false }

func query(name, typ string) common.Parameter {
	return param{name: name, typ: typ, kind: common.QueryParameterKind}
}

var (
	pathName      = param{name: "name", typ: "string", kind: common.PathParameterKind, required: true}
	pathNamespace = param{name: "namespace", typ: "string", kind: common.PathParameterKind, required: true}
	body          = param{name: "body", typ: "object", kind: common.BodyParameterKind, required: true}
	pretty        = query("pretty", "string")
	writeParams   = []common.Parameter{query("dryRun", "string"), query("fieldManager", "string"), query("fieldValidation", "string")}
	listParams    = []common.Parameter{
		query("allowWatchBookmarks", "boolean"), query("continue", "string"), query("fieldSelector", "string"),
		query("labelSelector", "string"), query("limit", "integer"), query("resourceVersion", "string"),
		query("resourceVersionMatch", "string"), query("sendInitialEvents", "boolean"),
		query("timeoutSeconds", "integer"), query("watch", "boolean"),
	}
	deleteParams = []common.Parameter{
		query("dryRun", "string"), query("gracePeriodSeconds", "integer"), query("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean"),
		query("orphanDependents", "boolean"), query("propagationPolicy", "string"),
	}
	patchTypes = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
	jsonTypes  = []string{"*/*"}
)

// routeBase builds the routes of one kind.
type routeBase struct {
	gvk        schema.GroupVersionKind
	namespaced bool
}

func (b routeBase) params(path []common.Parameter, rest ...[]common.Parameter) []common.Parameter {
	out := append([]common.Parameter{}, path...)
	if b.namespaced {
		out = append(out, pathNamespace)
	}
	out = append(out, pretty)
	for _, r := range rest {
		out = append(out, r...)
	}
	return out
}

func (b routeBase) r(method, path, op, action string, params []common.Parameter, request interface{}, responses ...response) *route {
	rs := make([]common.StatusCodeResponse, 0, len(responses))
	for _, x := range responses {
		rs = append(rs, x)
	}
	return &route{method: method, path: path, op: op, action: action, gvk: b.gvk, params: params, consumes: jsonTypes, request: request, responses: rs}
}

func (b routeBase) list(path, op string, list interface{}) *route {
	return b.r("GET", path, op, "list", b.params(nil, listParams), nil, response{http.StatusOK, list})
}

func (b routeBase) create(path, op string, obj interface{}) *route {
	return b.r("POST", path, op, "post", b.params(nil, writeParams, []common.Parameter{body}), obj,
		response{http.StatusOK, obj}, response{http.StatusCreated, obj}, response{http.StatusAccepted, obj})
}

func (b routeBase) get(path, op string, obj interface{}) *route {
	return b.r("GET", path, op, "get", b.params([]common.Parameter{pathName}), nil, response{http.StatusOK, obj})
}

func (b routeBase) put(path, op string, obj interface{}) *route {
	return b.r("PUT", path, op, "put", b.params([]common.Parameter{pathName}, writeParams, []common.Parameter{body}), obj,
		response{http.StatusOK, obj}, response{http.StatusCreated, obj})
}

func (b routeBase) patch(path, op string, obj interface{}) *route {
	rt := b.r("PATCH", path, op, "patch", b.params([]common.Parameter{pathName}, writeParams, []common.Parameter{query("force", "boolean"), body}),
		&metav1.Patch{}, response{http.StatusOK, obj}, response{http.StatusCreated, obj})
	rt.consumes = patchTypes
	return rt
}

func (b routeBase) delete(path, op string, obj interface{}) *route {
	return b.r("DELETE", path, op, "delete", b.params([]common.Parameter{pathName}, deleteParams, []common.Parameter{body}), &metav1.DeleteOptions{},
		response{http.StatusOK, &metav1.Status{}}, response{http.StatusAccepted, &metav1.Status{}})
}

func (b routeBase) deleteCollection(path, op string) *route {
	return b.r("DELETE", path, op, "deletecollection", b.params(nil, deleteParams, listParams, []common.Parameter{body}), &metav1.DeleteOptions{},
		response{http.StatusOK, &metav1.Status{}})
}
