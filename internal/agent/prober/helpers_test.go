package prober

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testSecond is how long a probe second lasts in manager tests.
const testSecond = 10 * time.Millisecond

// execFunc answers a fake ExecSync.
type execFunc func(ctx context.Context, cmd []string, timeout time.Duration) (stdout, stderr []byte, code int32, err error)

// fakeExecer runs execFunc and counts calls per first command word.
type fakeExecer struct {
	fn execFunc

	mu       sync.Mutex
	calls    map[string]int
	timeouts []time.Duration
	ids      []string
}

func newFakeExecer(fn execFunc) *fakeExecer {
	return &fakeExecer{fn: fn, calls: make(map[string]int)}
}

func (f *fakeExecer) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, int32, error) {
	f.mu.Lock()
	f.calls[strings.Join(cmd, " ")]++
	f.timeouts = append(f.timeouts, timeout)
	f.ids = append(f.ids, id)
	f.mu.Unlock()
	return f.fn(ctx, cmd, timeout)
}

func (f *fakeExecer) count(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[cmd]
}

// exitWith returns an execFunc that exits with code and output.
func exitWith(code int32, stdout, stderr string) execFunc {
	return func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
		return []byte(stdout), []byte(stderr), code, nil
	}
}

type event struct{ typ, reason, msg string }

// fakeRecorder keeps the events recorded.
type fakeRecorder struct {
	mu     sync.Mutex
	events []event
}

func (r *fakeRecorder) Event(_ *corev1.Pod, typ, reason, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{typ, reason, msg})
}

func (r *fakeRecorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *fakeRecorder) messages() []string {
	var out []string
	for _, e := range r.all() {
		out = append(out, e.msg)
	}
	return out
}

func testPod(ip string) *corev1.Pod {
	grace := int64(30)
	return &corev1.Pod{
		ObjectMeta: metaFor("web", "default", "uid-1"),
		Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: &grace},
		Status:     corev1.PodStatus{PodIP: ip},
	}
}

// execProbe returns a probe running cmd.
func execProbe(cmd ...string) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}}}
}

func httpGetProbe(path string, port int) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: path, Port: intstr.FromInt32(int32(port)),
	}}}
}

// serverPort returns the port of a listener address "127.0.0.1:N".
func serverPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := net.LookupPort("tcp", p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// newTestManager returns a manager whose probe seconds last testSecond,
// stopped at the end of the test.
func newTestManager(t *testing.T, exec Execer, rec Recorder) *Manager {
	t.Helper()
	m := newManager(exec, rec, nil, testSecond)
	t.Cleanup(m.Stop)
	return m
}

// nextUpdate waits for the next update.
func nextUpdate(t *testing.T, m *Manager, within time.Duration) Update {
	t.Helper()
	select {
	case u := <-m.Updates():
		return u
	case <-time.After(within):
		t.Fatalf("no update within %v", within)
	}
	return Update{}
}

// noUpdate checks that no update comes for d.
func noUpdate(t *testing.T, m *Manager, d time.Duration) {
	t.Helper()
	select {
	case u := <-m.Updates():
		t.Fatalf("unexpected update %+v", u)
	case <-time.After(d):
	}
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func metaFor(name, ns, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(uid)}
}

func newDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
