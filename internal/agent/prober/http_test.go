package prober

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeOnceFor runs spec as a probe of kind k once and returns its outcome
// and the events it recorded.
func probeOnceFor(t *testing.T, k Kind, spec *corev1.Probe, c *corev1.Container, exec Execer, timeout time.Duration) (bool, []event, error) {
	t.Helper()
	rec := &fakeRecorder{}
	p := &prober{exec: exec, rec: rec, log: newDiscardLogger(), transport: newTransport(), execSlack: 50 * time.Millisecond}
	defer p.transport.CloseIdleConnections()
	if c == nil {
		c = &corev1.Container{Name: "app"}
	}
	tg := target{pod: testPod("127.0.0.1"), container: c, containerID: "cid", podIP: "127.0.0.1"}
	ok, err := p.probe(context.Background(), k, spec, tg, timeout)
	return ok, rec.all(), err
}

func TestHTTPProbe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "fine") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "secret body", 500) })
	mux.HandleFunc("/local", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/local-fail", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/fail", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	port := serverPort(t, srv.URL)
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", fmt.Sprintf("http://localhost:%d/ok", port))
		w.WriteHeader(http.StatusMovedPermanently)
		fmt.Fprint(w, "moved")
	})
	refused := closedPort(t)

	tests := []struct {
		name     string
		path     string
		port     int
		timeout  time.Duration
		wantOK   bool
		wantMsg  string // prefix of the only event, "" for none
		wantType string
	}{
		{"2xx", "/ok", port, time.Second, true, "", ""},
		{"5xx", "/fail", port, time.Second, false, "Readiness probe failed: HTTP probe failed with statuscode: 500", ReasonUnhealthy},
		{"same-host redirect followed", "/local", port, time.Second, true, "", ""},
		{"same-host redirect to failure", "/local-fail", port, time.Second, false, "Readiness probe failed: HTTP probe failed with statuscode: 500", ReasonUnhealthy},
		{"other-host redirect not followed", "/away", port, time.Second, true, "Readiness probe warning: Probe terminated redirects, Response body: moved", ReasonProbeWarning},
		{"redirect loop", "/loop", port, time.Second, false, `Readiness probe failed: Get "/loop": stopped after 10 redirects`, ReasonUnhealthy},
		{"timeout", "/slow", port, 50 * time.Millisecond, false, fmt.Sprintf("Readiness probe failed: Get \"http://127.0.0.1:%d/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", port), ReasonUnhealthy},
		{"refused", "/ok", refused, time.Second, false, fmt.Sprintf("Readiness probe failed: Get \"http://127.0.0.1:%d/ok\": dial tcp 127.0.0.1:%d: connect: connection refused", refused, refused), ReasonUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, events, err := probeOnceFor(t, Readiness, httpGetProbe(tt.path, tt.port), nil, nil, tt.timeout)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			checkEvents(t, events, tt.wantMsg, tt.wantType)
		})
	}
}

func checkEvents(t *testing.T, events []event, wantMsg, wantReason string) {
	t.Helper()
	if wantMsg == "" {
		if len(events) != 0 {
			t.Fatalf("events = %+v, want none", events)
		}
		return
	}
	if len(events) != 1 {
		t.Fatalf("events = %+v, want one", events)
	}
	e := events[0]
	if e.msg != wantMsg || e.reason != wantReason || e.typ != corev1.EventTypeWarning {
		t.Errorf("event = %+v, want Warning %s %q", e, wantReason, wantMsg)
	}
}

func TestHTTPProbeRequest(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
	}))
	defer srv.Close()
	port := serverPort(t, srv.URL)
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path:        "/healthz?x=1",
		Port:        intstr.FromString("web"),
		HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Custom", Value: "a"}, {Name: "host", Value: "example.test"}},
	}}}
	ok, _, err := probeOnceFor(t, Liveness, spec, c, nil, time.Second)
	if !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	checks := map[string]string{
		"path":       got.URL.Path + "?" + got.URL.RawQuery,
		"user-agent": got.Header.Get("User-Agent"),
		"accept":     got.Header.Get("Accept"),
		"x-custom":   got.Header.Get("X-Custom"),
		"host":       got.Host,
	}
	want := map[string]string{
		"path": "/healthz?x=1", "user-agent": "kube-probe/" + kubeVersion, "accept": "*/*",
		"x-custom": "a", "host": "example.test",
	}
	for k, v := range want {
		if checks[k] != v {
			t.Errorf("%s = %q, want %q", k, checks[k], v)
		}
	}
}

func TestHTTPProbeHTTPSAndBodyLimit(t *testing.T) {
	big := strings.Repeat("x", 3*maxOutputLength)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusMultipleChoices)
		fmt.Fprint(w, big)
	}))
	defer srv.Close()
	spec := httpGetProbe("/", serverPort(t, srv.URL))
	spec.HTTPGet.Scheme = corev1.URISchemeHTTPS
	ok, events, err := probeOnceFor(t, Startup, spec, nil, nil, time.Second)
	if !ok || err != nil {
		t.Fatalf("ok=%v err=%v (self-signed certificates must be accepted)", ok, err)
	}
	want := "Startup probe warning: Probe terminated redirects, Response body: " + big[:maxOutputLength]
	checkEvents(t, events, want, ReasonProbeWarning)
}

func TestHTTPProbeBadPort(t *testing.T) {
	spec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
	ok, events, err := probeOnceFor(t, Readiness, spec, nil, nil, time.Second)
	if ok || err == nil {
		t.Fatalf("ok=%v err=%v, want an error", ok, err)
	}
	checkEvents(t, events, `Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing "http": invalid syntax`, ReasonUnhealthy)
}
