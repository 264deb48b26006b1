package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestInvalidManifests checks that kubectl prints Kubernetes' messages for
// manifests the server refuses, and that nothing is written.
func TestInvalidManifests(t *testing.T) {
	s := startServer(t)
	cases := []struct {
		name, manifest string
		want           []string
	}{
		{"missing image", deployment("web", "", "app: web", "app: web"),
			[]string{`The Deployment "web" is invalid: spec.template.spec.containers[0].image: Required value`}},
		{"selector mismatch", deployment("web", "nginx", "app: web", "app: other"),
			[]string{`The Deployment "web" is invalid`, "spec.template.metadata.labels: Invalid value", "`selector` does not match template `labels`"}},
		{"bad name", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
			[]string{`The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain`}},
		{"port out of range", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 70000\n",
			[]string{`The Service "s" is invalid:`, `* spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`}},
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  foo: bar\n",
			[]string{`strict decoding error: unknown field "spec"`}},
		{"duplicate containers", strings.Replace(deployment("web", "nginx", "app: web", "app: web"), "      containers:\n", "      containers:\n      - name: web\n        image: nginx\n", 1),
			[]string{`spec.template.spec.containers[1].name: Duplicate value: "web"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := s.kubectlIn(c.manifest, "apply", "-f", "-")
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			contains(t, out, c.want...)
		})
	}
	if out := s.mustKubectl("get", "deploy,cm,svc", "-o", "name"); strings.Contains(out, "deployment") || strings.Contains(out, "configmap/c") || strings.Contains(out, "service/s") {
		t.Fatalf("refused objects were written:\n%s", out)
	}
	out, err := s.kubectl("get", "frobnicators")
	if err == nil {
		t.Fatal("unknown resource type accepted")
	}
	contains(t, out, `the server doesn't have a resource type "frobnicators"`)
}

func deployment(name, image, selector, labels string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  selector:
    matchLabels:
      ` + selector + `
  template:
    metadata:
      labels:
        ` + labels + `
    spec:
      containers:
      - name: web
        image: "` + image + `"
`
}

// TestHTTPErrors sends raw requests: malformed bodies, wrong media types,
// oversized bodies and stale updates get the right Status and write
// nothing.
func TestHTTPErrors(t *testing.T) {
	s := startServer(t)
	cfg, err := s.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := httpClient(t, cfg)
	url := cfg.Host + "/api/v1/namespaces/default/configmaps"
	cases := []struct {
		name, method, url, ctype string
		body                     []byte
		code                     int
		reason                   metav1.StatusReason
	}{
		{"malformed json", "POST", url, "application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap",`), 400, metav1.StatusReasonBadRequest},
		{"malformed yaml", "POST", url, "application/yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n"), 400, metav1.StatusReasonBadRequest},
		{"unsupported media type", "POST", url, "text/plain", []byte("hello"), 415, metav1.StatusReasonUnsupportedMediaType},
		{"body too large", "POST", url, "application/json", bigConfigMap(4 << 20), 413, metav1.StatusReasonRequestEntityTooLarge},
		{"unknown resource", "GET", cfg.Host + "/api/v1/namespaces/default/frobs", "", nil, 404, metav1.StatusReasonNotFound},
		{"wrong kind", "POST", url, "application/json", []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}`), 400, metav1.StatusReasonBadRequest},
		{"bad patch type", "PATCH", url + "/x", "application/xml", []byte("<x/>"), 415, metav1.StatusReasonUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := do(t, client, c.method, c.url, c.ctype, c.body)
			if st.Code != int32(c.code) || st.Reason != c.reason || st.Kind != "Status" {
				t.Fatalf("got code %d reason %q kind %q message %q; want %d %q", st.Code, st.Reason, st.Kind, st.Message, c.code, c.reason)
			}
		})
	}
	// Only the cluster's kube-root-ca.crt, which every namespace has.
	list, err := s.client().CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name!=kube-root-ca.crt"})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("refused requests wrote objects: %v %v", err, list)
	}
	// A stale resourceVersion gets 409 Conflict.
	cs := s.client().CoreV1().ConfigMaps("default")
	cm, err := cs.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := cm.DeepCopy()
	cm.Data["a"] = "2"
	if _, err := cs.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["a"] = "3"
	_, err = cs.Update(context.Background(), stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified; please apply your changes to the latest version and try again") {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := cs.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: %v", err)
	}
}

func bigConfigMap(n int) []byte {
	return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", n) + `"}}`)
}

func httpClient(t *testing.T, cfg *rest.Config) *http.Client {
	t.Helper()
	tc, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
}

func do(t *testing.T, c *http.Client, method, url, ctype string, body []byte) metav1.Status {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var st metav1.Status
	if err := jsonUnmarshal(data, &st); err != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if int(st.Code) != resp.StatusCode {
		t.Fatalf("status code %d but body says %d", resp.StatusCode, st.Code)
	}
	return st
}

// TestAuthentication checks 401 without credentials (except the health
// and version endpoints) and bearer tokens from --token-auth-file.
func TestAuthentication(t *testing.T) {
	tokens := t.TempDir() + "/tokens.csv"
	writeFile(t, tokens, "s3cret-token,alice,1001,\"devs,ops\"\n")
	s := startServer(t, "--token-auth-file", tokens)
	cfg, _ := s.restConfig()
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		resp, err := anon.Get(cfg.Host + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s without credentials: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	for _, p := range []string{"/api/v1/namespaces", "/apis", "/api", "/openapi/v2", "/metrics"} {
		st := do(t, anon, "GET", cfg.Host+p, "", nil)
		if st.Code != 401 || st.Reason != metav1.StatusReasonUnauthorized {
			t.Fatalf("%s without credentials: %+v", p, st)
		}
	}
	st := doAuth(t, anon, cfg.Host+"/api/v1/namespaces", "wrong-token")
	if st != 401 {
		t.Fatalf("bad token: %d", st)
	}
	if st := doAuth(t, anon, cfg.Host+"/api/v1/namespaces", "s3cret-token"); st != 200 {
		t.Fatalf("good token: %d", st)
	}
	if out, err := s.kubectl("--token=s3cret-token", "--kubeconfig=/dev/null", "--server="+cfg.Host, "--insecure-skip-tls-verify", "get", "ns"); err != nil || !strings.Contains(out, "kube-system") {
		t.Fatalf("kubectl with a token: %v\n%s", err, out)
	}
}

func doAuth(t *testing.T, c *http.Client, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
