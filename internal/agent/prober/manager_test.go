package prober

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// stepper is an exec handler the test answers call by call, so that the
// test sees the state after each probe before the next one starts.
type stepper struct {
	calls   chan string
	replies chan int32
}

func newStepper() *stepper {
	return &stepper{calls: make(chan string), replies: make(chan int32)}
}

func (s *stepper) fn(ctx context.Context, cmd []string, _ time.Duration) ([]byte, []byte, int32, error) {
	select {
	case s.calls <- cmd[0]:
	case <-ctx.Done():
		return nil, nil, 0, ctx.Err()
	}
	select {
	case code := <-s.replies:
		return []byte(fmt.Sprintf("%s exit %d", cmd[0], code)), nil, code, nil
	case <-ctx.Done():
		return nil, nil, 0, ctx.Err()
	}
}

// next waits for the next probe call and returns its command.
func (s *stepper) next(t *testing.T) string {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(2 * time.Second):
		t.Fatal("no probe call")
	}
	return ""
}

// expect waits for a call of cmd; the test then replies to it.
func (s *stepper) expect(t *testing.T, cmd string) {
	t.Helper()
	if got := s.next(t); got != cmd {
		t.Fatalf("probe call %q, want %q", got, cmd)
	}
}

// idle checks that no probe runs for d.
func (s *stepper) idle(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case c := <-s.calls:
		t.Fatalf("unexpected probe call %q", c)
	case <-time.After(d):
	}
}

func fastProbe(p *corev1.Probe, success, failure int32) *corev1.Probe {
	p.PeriodSeconds = 1
	p.TimeoutSeconds = 500 // 5s: the test, not the timeout, ends a probe
	p.SuccessThreshold = success
	p.FailureThreshold = failure
	return p
}

func TestInitialResults(t *testing.T) {
	later := func(cmd string) *corev1.Probe { p := execProbe(cmd); p.InitialDelaySeconds = 1000; return p }
	tests := []struct {
		name                 string
		c                    corev1.Container
		wantStarted, wantRdy bool
	}{
		{"no probes", corev1.Container{}, true, true},
		{"liveness only", corev1.Container{LivenessProbe: later("l")}, true, true},
		{"readiness", corev1.Container{ReadinessProbe: later("r")}, true, false},
		{"startup", corev1.Container{StartupProbe: later("s")}, false, false},
		{"startup and readiness", corev1.Container{StartupProbe: later("s"), ReadinessProbe: later("r")}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestManager(t, newFakeExecer(exitWith(0, "", "")), &fakeRecorder{})
			tt.c.Name = "app"
			m.ContainerStarted(testPod("127.0.0.1"), &tt.c, "c1", time.Now())
			m.ContainerStarted(testPod("127.0.0.1"), &tt.c, "c1", time.Now()) // no-op
			if m.Started("c1") != tt.wantStarted || m.Ready("c1") != tt.wantRdy {
				t.Errorf("started=%v ready=%v, want %v %v", m.Started("c1"), m.Ready("c1"), tt.wantStarted, tt.wantRdy)
			}
			if m.Started("other") || m.Ready("other") {
				t.Error("unknown container reported started or ready")
			}
			noUpdate(t, m, 30*time.Millisecond)
		})
	}
}

func TestReadinessThresholds(t *testing.T) {
	s := newStepper()
	rec := &fakeRecorder{}
	m := newTestManager(t, newFakeExecer(s.fn), rec)
	c := &corev1.Container{Name: "app", ReadinessProbe: fastProbe(execProbe("ready"), 2, 3)}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())

	// successThreshold 2, failureThreshold 3.
	codes := []int32{0, 1, 0, 0, 1, 1, 0, 1, 1, 1}
	want := []bool{false, false, false, true, true, true, true, true, true, false}
	s.expect(t, "ready")
	for i, code := range codes {
		s.replies <- code
		s.expect(t, "ready") // the result of call i has been applied
		if m.Ready("c1") != want[i] {
			t.Fatalf("after result %d (exit %d): ready=%v, want %v", i, code, m.Ready("c1"), want[i])
		}
	}
	for _, w := range []bool{true, false} {
		u := nextUpdate(t, m, time.Second)
		if u != (Update{PodUID: "uid-1", ContainerName: "app", ContainerID: "c1", Kind: Readiness, Success: w}) {
			t.Fatalf("update %+v, want readiness %v", u, w)
		}
	}
	noUpdate(t, m, 20*time.Millisecond)
	if got, want := len(rec.all()), 6; got != want {
		t.Errorf("%d events, want one per failure (%d): %v", got, want, rec.messages())
	}
	if msg := rec.messages()[0]; msg != "Readiness probe failed: ready exit 1" {
		t.Errorf("event %q", msg)
	}
}

func TestLivenessFailureThreshold(t *testing.T) {
	s := newStepper()
	rec := &fakeRecorder{}
	m := newTestManager(t, newFakeExecer(s.fn), rec)
	c := &corev1.Container{Name: "app", LivenessProbe: fastProbe(execProbe("live"), 1, 3)}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())

	for _, code := range []int32{1, 1, 0, 1, 1} {
		s.expect(t, "live")
		s.replies <- code
	}
	noUpdate(t, m, 30*time.Millisecond) // two failures in a row so far
	s.expect(t, "live")
	s.replies <- 1
	u := nextUpdate(t, m, time.Second)
	if u != (Update{PodUID: "uid-1", ContainerName: "app", ContainerID: "c1", Kind: Liveness, Success: false}) {
		t.Fatalf("update %+v", u)
	}
	// The worker stops: the container is about to be killed.
	s.idle(t, 100*time.Millisecond)
	if !m.Ready("c1") || !m.Started("c1") {
		t.Error("liveness failure changed readiness or startup")
	}
	if got := len(rec.all()); got != 5 {
		t.Errorf("%d events, want 5: %v", got, rec.messages())
	}
}

func TestStartupGatesOtherProbes(t *testing.T) {
	s := newStepper()
	m := newTestManager(t, newFakeExecer(s.fn), &fakeRecorder{})
	c := &corev1.Container{
		Name:           "app",
		StartupProbe:   fastProbe(execProbe("startup"), 1, 5),
		LivenessProbe:  fastProbe(execProbe("live"), 1, 1),
		ReadinessProbe: fastProbe(execProbe("ready"), 1, 1),
	}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())
	for _, code := range []int32{1, 1, 1} {
		s.expect(t, "startup")
		s.replies <- code
		if m.Started("c1") || m.Ready("c1") {
			t.Fatal("started or ready before the startup probe passed")
		}
	}
	s.expect(t, "startup")
	s.replies <- 0
	if u := nextUpdate(t, m, time.Second); u.Kind != Startup || !u.Success {
		t.Fatalf("update %+v, want startup success", u)
	}
	if !m.Started("c1") || m.Ready("c1") {
		t.Fatalf("started=%v ready=%v, want true false", m.Started("c1"), m.Ready("c1"))
	}
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		seen[s.next(t)] = true
		s.replies <- 0
	}
	if !seen["live"] || !seen["ready"] || seen["startup"] {
		t.Fatalf("probes after startup: %v", seen)
	}
	if u := nextUpdate(t, m, time.Second); u.Kind != Readiness || !u.Success {
		t.Fatalf("update %+v, want readiness success", u)
	}
	if !m.Ready("c1") {
		t.Error("not ready")
	}
}

func TestStartupFailure(t *testing.T) {
	s := newStepper()
	rec := &fakeRecorder{}
	m := newTestManager(t, newFakeExecer(s.fn), rec)
	c := &corev1.Container{
		Name:          "app",
		StartupProbe:  fastProbe(execProbe("startup"), 1, 2),
		LivenessProbe: fastProbe(execProbe("live"), 1, 1),
	}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())
	for i := 0; i < 2; i++ {
		s.expect(t, "startup")
		s.replies <- 1
	}
	if u := nextUpdate(t, m, time.Second); u.Kind != Startup || u.Success {
		t.Fatalf("update %+v, want startup failure", u)
	}
	s.idle(t, 100*time.Millisecond)
	if m.Started("c1") {
		t.Error("started after startup failure")
	}
	if got := rec.messages(); !slices.Equal(got, []string{"Startup probe failed: startup exit 1", "Startup probe failed: startup exit 1"}) {
		t.Errorf("events %q", got)
	}
}

func TestStartupWithoutReadinessMakesReady(t *testing.T) {
	m := newTestManager(t, newFakeExecer(exitWith(0, "", "")), &fakeRecorder{})
	c := &corev1.Container{Name: "app", StartupProbe: fastProbe(execProbe("startup"), 1, 1)}
	m.ContainerStarted(testPod("127.0.0.1"), c, "c1", time.Now())
	for _, k := range []Kind{Startup, Readiness} {
		if u := nextUpdate(t, m, time.Second); u.Kind != k || !u.Success {
			t.Fatalf("update %+v, want %v success", u, k)
		}
	}
	if !m.Ready("c1") || !m.Started("c1") {
		t.Error("not ready and started")
	}
}
