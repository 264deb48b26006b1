package prober

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestExecHook(t *testing.T) {
	tests := []struct {
		name    string
		fn      execFunc
		wantMsg string
	}{
		{"success", exitWith(0, "done", ""), ""},
		{"exit code", exitWith(3, "out", "err"),
			`Exec lifecycle hook ([sh -c notify]) for Container "app" in Pod "web_default(uid-1)" failed - error: command 'sh -c notify' exited with 3: err, message: "outerr"`},
		{"runtime error", func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
			return nil, nil, 0, errors.New("container not running")
		}, `Exec lifecycle hook ([sh -c notify]) for Container "app" in Pod "web_default(uid-1)" failed - error: container not running, message: ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newFakeExecer(tt.fn)
			h := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "notify"}}}
			msg, err := RunHook(context.Background(), ex, testPod("127.0.0.1"), &corev1.Container{Name: "app"}, "cid", h)
			if msg != tt.wantMsg || (err != nil) != (tt.wantMsg != "") {
				t.Errorf("msg=%q err=%v, want %q", msg, err, tt.wantMsg)
			}
			if ex.count("sh -c notify") != 1 || ex.timeouts[0] != 0 || ex.ids[0] != "cid" {
				t.Errorf("exec calls %v timeouts %v ids %v", ex.calls, ex.timeouts, ex.ids)
			}
		})
	}
}

func TestHTTPHook(t *testing.T) {
	var mu sync.Mutex
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.Header.Get("User-Agent")+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	port := serverPort(t, srv.URL)
	refused := closedPort(t)
	tests := []struct {
		name    string
		podIP   string
		action  corev1.HTTPGetAction
		wantMsg string
	}{
		{"pod IP", "127.0.0.1", corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port))}, ""},
		{"explicit host", "", corev1.HTTPGetAction{Path: "/ok", Host: "127.0.0.1", Port: intstr.FromInt32(int32(port))}, ""},
		{"status ignored", "127.0.0.1", corev1.HTTPGetAction{Path: "/fail", Port: intstr.FromInt32(int32(port))}, ""},
		{"https answered in http", "127.0.0.1", corev1.HTTPGetAction{Path: "/tls", Scheme: corev1.URISchemeHTTPS, Port: intstr.FromInt32(int32(port))}, ""},
		{"refused", "127.0.0.1", corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(refused))},
			fmt.Sprintf(`HTTP lifecycle hook (/ok) for Container "app" in Pod "web_default(uid-1)" failed - error: Get "http://127.0.0.1:%d/ok": dial tcp 127.0.0.1:%d: connect: connection refused`, refused, refused)},
		{"no pod IP", "", corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromInt32(int32(port))},
			`HTTP lifecycle hook (/ok) for Container "app" in Pod "web_default(uid-1)" failed - error: failed to find networking container: pod web_default(uid-1) has no IP`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &corev1.LifecycleHandler{HTTPGet: &tt.action}
			msg, err := RunHook(context.Background(), nil, testPod(tt.podIP), &corev1.Container{Name: "app"}, "cid", h)
			if msg != tt.wantMsg || (err != nil) != (tt.wantMsg != "") {
				t.Errorf("msg=%q err=%v, want %q", msg, err, tt.wantMsg)
			}
		})
	}
	want := "kube-lifecycle/" + kubeVersion
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(agents, ","); got != strings.Join([]string{want + " /ok", want + " /ok", want + " /fail", want + " /tls"}, ",") {
		t.Errorf("requests %q", got)
	}
}

func TestSleepHook(t *testing.T) {
	old := hookSecond
	hookSecond = 10 * time.Millisecond
	defer func() { hookSecond = old }()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		seconds int64
		min     time.Duration
		wantMsg string
	}{
		{"zero", context.Background(), 0, 0, ""},
		{"sleeps", context.Background(), 5, 50 * time.Millisecond, ""},
		{"interrupted", canceled, 5, 0,
			`Sleep lifecycle hook (5) for Container "app" in Pod "web_default(uid-1)" failed - error: container terminated before sleep hook finished`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			h := &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: tt.seconds}}
			msg, err := RunHook(tt.ctx, nil, testPod("127.0.0.1"), &corev1.Container{Name: "app"}, "cid", h)
			if msg != tt.wantMsg || (err != nil) != (tt.wantMsg != "") {
				t.Errorf("msg=%q err=%v, want %q", msg, err, tt.wantMsg)
			}
			if d := time.Since(start); d < tt.min || d > tt.min+time.Second {
				t.Errorf("took %v, want about %v", d, tt.min)
			}
		})
	}
}

func TestInvalidHook(t *testing.T) {
	h := &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}
	msg, err := RunHook(context.Background(), nil, testPod("127.0.0.1"), &corev1.Container{Name: "app"}, "cid", h)
	if err == nil || !strings.HasPrefix(msg, "Cannot run handler: invalid handler: &LifecycleHandler{") {
		t.Errorf("msg=%q err=%v", msg, err)
	}
}
