package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource URL names.
type requestInfo struct {
	// Group and Version of the API; Group is "" for /api/v1.
	Group, Version string
	Namespace      string
	Resource       string
	Name           string
	Subresource    string
	// Verb is the Kubernetes verb: get, list, watch, create, update,
	// patch, delete, deletecollection.
	Verb string
	// LegacyWatch is set for /api/v1/watch/... paths.
	LegacyWatch bool
}

// namespaceSubresources are the subresources of a namespace object, which
// must not be read as /namespaces/<ns>/<resource>.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseResourcePath reads /api/v1/... or /apis/<group>/<version>/... . ok is
// false when the path names no resource (discovery paths or junk).
func parseResourcePath(r *http.Request) (requestInfo, bool) {
	parts := splitPath(r.URL.Path)
	var ri requestInfo
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri, false
	}
	if parts[0] == "watch" {
		ri.LegacyWatch, parts = true, parts[1:]
		if len(parts) == 0 {
			return ri, false
		}
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		ri.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	ri.Resource = parts[0]
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	if len(parts) > 3 {
		return ri, false
	}
	if ri.Resource == "namespaces" {
		// /api/v1/namespaces/<name>: the namespace object itself.
		ri.Name, ri.Namespace = ri.Namespace, ""
		if len(parts) > 2 {
			ri.Subresource = parts[2]
		}
	}
	ri.Verb = verbOf(r, ri)
	return ri, true
}

func verbOf(r *http.Request, ri requestInfo) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if ri.LegacyWatch || isTrue(r.URL.Query().Get("watch")) {
			return "watch"
		}
		if ri.Name == "" {
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func isTrue(s string) bool { return s == "true" || s == "1" }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
