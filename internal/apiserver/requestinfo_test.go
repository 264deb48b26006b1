package apiserver

import (
	"net/http/httptest"
	"testing"
)

func TestParseResourcePath(t *testing.T) {
	cases := []struct {
		method, url string
		want        requestInfo
		ok          bool
	}{
		{"GET", "/api/v1/pods", requestInfo{Version: "v1", Resource: "pods", Verb: "list"}, true},
		{"GET", "/api/v1/namespaces/ns/pods/p", requestInfo{Version: "v1", Namespace: "ns", Resource: "pods", Name: "p", Verb: "get"}, true},
		{"GET", "/api/v1/namespaces/ns/pods?watch=true", requestInfo{Version: "v1", Namespace: "ns", Resource: "pods", Verb: "watch"}, true},
		{"GET", "/api/v1/watch/namespaces/ns/pods", requestInfo{Version: "v1", Namespace: "ns", Resource: "pods", Verb: "watch", LegacyWatch: true}, true},
		{"PUT", "/api/v1/namespaces/ns/pods/p/status", requestInfo{Version: "v1", Namespace: "ns", Resource: "pods", Name: "p", Subresource: "status", Verb: "update"}, true},
		{"GET", "/api/v1/namespaces/ns", requestInfo{Version: "v1", Resource: "namespaces", Name: "ns", Verb: "get"}, true},
		{"PUT", "/api/v1/namespaces/ns/finalize", requestInfo{Version: "v1", Resource: "namespaces", Name: "ns", Subresource: "finalize", Verb: "update"}, true},
		{"GET", "/api/v1/namespaces", requestInfo{Version: "v1", Resource: "namespaces", Verb: "list"}, true},
		{"DELETE", "/apis/apps/v1/namespaces/ns/deployments", requestInfo{Group: "apps", Version: "v1", Namespace: "ns", Resource: "deployments", Verb: "deletecollection"}, true},
		{"PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", requestInfo{Group: "apps", Version: "v1", Namespace: "ns", Resource: "deployments", Name: "d", Subresource: "scale", Verb: "patch"}, true},
		{"GET", "/apis/apps/v1", requestInfo{}, false},
		{"GET", "/api/v1/namespaces/ns/pods/p/log/extra", requestInfo{}, false},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.url, func(t *testing.T) {
			got, ok := parseResourcePath(httptest.NewRequest(c.method, c.url, nil))
			if ok != c.ok || (ok && got != c.want) {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	_, codecs := newScheme()
	cases := []struct {
		accept  string
		media   string
		output  outputKind
		wantErr bool
	}{
		{"", mediaJSON, outputObject, false},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", mediaJSON, outputTable, false},
		{"application/vnd.kubernetes.protobuf,application/json", mediaProtobuf, outputObject, false},
		{"application/json;as=Frob;v=v1;g=meta.k8s.io", "", 0, true},
		{"application/yaml", mediaYAML, outputObject, false},
		{"text/html", "", 0, true},
		{"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", mediaJSON, outputPartialMetadata, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/v1/pods", nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		got, err := negotiate(r, codecs, outputTable, outputPartialMetadata)
		if (err != nil) != c.wantErr {
			t.Fatalf("%q: err %v", c.accept, err)
		}
		if err == nil && (got.info.MediaType != c.media || got.output != c.output) {
			t.Fatalf("%q: got %s %v", c.accept, got.info.MediaType, got.output)
		}
	}
}
