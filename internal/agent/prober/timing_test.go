package prober

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// callTimes records when each exec probe call happened.
type callTimes struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *callTimes) execer() *fakeExecer {
	return newFakeExecer(func(_ context.Context, _ []string, _ time.Duration) ([]byte, []byte, int32, error) {
		c.mu.Lock()
		c.times = append(c.times, time.Now())
		c.mu.Unlock()
		return nil, nil, 0, nil
	})
}

func (c *callTimes) get() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

func TestInitialDelayAndPeriod(t *testing.T) {
	tests := []struct {
		name      string
		delay     int32
		started   time.Duration // how long before ContainerStarted the container started
		wantFirst time.Duration // earliest first probe after ContainerStarted
		maxFirst  time.Duration
	}{
		{"no delay", 0, 0, 0, 150 * time.Millisecond},
		{"delay", 20, 0, 200 * time.Millisecond, 400 * time.Millisecond},
		{"delay already over", 20, time.Hour, 0, 150 * time.Millisecond},
		{"delay partly over", 20, 100 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls callTimes
			m := newTestManager(t, calls.execer(), &fakeRecorder{})
			p := execProbe("ready")
			p.InitialDelaySeconds = tt.delay
			p.PeriodSeconds = 5
			now := time.Now()
			m.ContainerStarted(testPod("127.0.0.1"), &corev1.Container{Name: "app", ReadinessProbe: p}, "c1", now.Add(-tt.started))
			eventually(t, 2*time.Second, "three probes", func() bool { return len(calls.get()) >= 3 })
			got := calls.get()
			if first := got[0].Sub(now); first < tt.wantFirst || first > tt.maxFirst {
				t.Errorf("first probe after %v, want within [%v, %v]", first, tt.wantFirst, tt.maxFirst)
			}
			for i := 1; i < 3; i++ {
				if gap := got[i].Sub(got[i-1]); gap < 40*time.Millisecond || gap > 200*time.Millisecond {
					t.Errorf("probe %d came %v after the previous one, want about 50ms", i, gap)
				}
			}
		})
	}
}

func TestUpdatePodIP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	port := serverPort(t, srv.URL)
	rec := &fakeRecorder{}
	m := newTestManager(t, nil, rec)
	c := &corev1.Container{Name: "app", ReadinessProbe: fastProbe(httpGetProbe("/healthz", port), 1, 1)}
	// 127.0.0.2 is loopback too, but nothing listens there.
	m.ContainerStarted(testPod("127.0.0.2"), c, "c1", time.Now())
	want := fmt.Sprintf("Readiness probe failed: Get \"http://127.0.0.2:%d/healthz\": dial tcp 127.0.0.2:%d: connect: connection refused", port, port)
	eventually(t, 2*time.Second, "a failure event", func() bool { return len(rec.all()) > 0 })
	if msg := rec.messages()[0]; msg != want {
		t.Fatalf("event %q, want %q", msg, want)
	}
	if m.Ready("c1") {
		t.Fatal("ready")
	}
	m.UpdatePodIP("uid-1", "127.0.0.1")
	if u := nextUpdate(t, m, 2*time.Second); u.Kind != Readiness || !u.Success {
		t.Fatalf("update %+v", u)
	}
	if !m.Ready("c1") {
		t.Error("not ready")
	}
}

func TestTCPLivenessEventsAndUpdate(t *testing.T) {
	port := closedPort(t)
	rec := &fakeRecorder{}
	m := newTestManager(t, nil, rec)
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("metrics")}}}
	c := &corev1.Container{Name: "app", LivenessProbe: fastProbe(p, 1, 2),
		Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: int32(port)}}}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())
	u := nextUpdate(t, m, 2*time.Second)
	if u != (Update{PodUID: "uid-1", ContainerName: "app", ContainerID: "c1", Kind: Liveness}) {
		t.Fatalf("update %+v", u)
	}
	want := fmt.Sprintf("Liveness probe failed: dial tcp 127.0.0.1:%d: connect: connection refused", port)
	events := rec.all()
	if len(events) != 2 {
		t.Fatalf("events %v, want 2", events)
	}
	for _, e := range events {
		if e != (event{corev1.EventTypeWarning, ReasonUnhealthy, want}) {
			t.Errorf("event %+v, want %q", e, want)
		}
	}
}

// blockingListener accepts nothing: connections queue in the backlog.
func blockingListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestHTTPTimeoutThroughManager(t *testing.T) {
	l := blockingListener(t)
	port := l.Addr().(*net.TCPAddr).Port
	rec := &fakeRecorder{}
	m := newTestManager(t, nil, rec)
	p := fastProbe(httpGetProbe("/", port), 1, 1)
	p.TimeoutSeconds = 3 // 30ms
	m.ContainerStarted(testPod("127.0.0.1"), &corev1.Container{Name: "app", LivenessProbe: p}, "c1", time.Now())
	if u := nextUpdate(t, m, 2*time.Second); u.Kind != Liveness || u.Success {
		t.Fatalf("update %+v", u)
	}
	if msg := rec.messages()[0]; !strings.HasSuffix(msg, "(Client.Timeout exceeded while awaiting headers)") {
		t.Errorf("event %q", msg)
	}
}
