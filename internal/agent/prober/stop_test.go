package prober

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
)

// hangingExecer blocks every call until its context ends and counts the
// calls that ended.
type hangingExecer struct{ started, ended atomic.Int32 }

func (h *hangingExecer) ExecSync(ctx context.Context, _ string, _ []string, _ time.Duration) ([]byte, []byte, int32, error) {
	h.started.Add(1)
	<-ctx.Done()
	h.ended.Add(1)
	return nil, nil, 0, ctx.Err()
}

func allProbes() *corev1.Container {
	long := func(cmd string) *corev1.Probe {
		p := execProbe(cmd)
		p.TimeoutSeconds = 1000
		return p
	}
	return &corev1.Container{Name: "app", LivenessProbe: long("l"), ReadinessProbe: long("r")}
}

func TestContainerStoppedEndsWorkers(t *testing.T) {
	h := &hangingExecer{}
	rec := &fakeRecorder{}
	m := newTestManager(t, h, rec)
	base := goleak.IgnoreCurrent()
	m.ContainerStarted(testPod("127.0.0.1"), allProbes(), "c1", time.Now())
	m.ContainerStarted(testPod("127.0.0.1"), allProbes(), "c2", time.Now())
	eventually(t, time.Second, "probes running", func() bool { return h.started.Load() == 4 })
	m.ContainerStopped("c1")
	eventually(t, time.Second, "c1's probes ending", func() bool { return h.ended.Load() == 2 })
	if m.Ready("c1") || m.Started("c1") {
		t.Error("stopped container still ready or started")
	}
	if !m.Started("c2") {
		t.Error("c2 affected")
	}
	m.ContainerStopped("c2")
	m.ContainerStopped("c2") // again: no-op
	if err := goleak.Find(base); err != nil {
		t.Fatal(err)
	}
	if len(rec.all()) != 0 {
		t.Errorf("canceled probes recorded events: %v", rec.messages())
	}
}

func TestRemovePodAndStop(t *testing.T) {
	base := goleak.IgnoreCurrent()
	h := &hangingExecer{}
	m := newManager(h, &fakeRecorder{}, nil, testSecond)
	other := testPod("127.0.0.1")
	other.UID = "uid-2"
	m.ContainerStarted(testPod("127.0.0.1"), allProbes(), "a1", time.Now())
	m.ContainerStarted(testPod("127.0.0.1"), allProbes(), "a2", time.Now())
	m.ContainerStarted(other, allProbes(), "b1", time.Now())
	eventually(t, time.Second, "probes running", func() bool { return h.started.Load() == 6 })
	m.RemovePod("uid-1")
	eventually(t, time.Second, "pod's probes ending", func() bool { return h.ended.Load() == 4 })
	if m.Started("a1") || m.Started("a2") || !m.Started("b1") {
		t.Error("RemovePod removed the wrong containers")
	}
	m.RemovePod("unknown")
	start := time.Now()
	m.Stop()
	m.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop took %v", d)
	}
	if h.ended.Load() != 6 {
		t.Errorf("%d probes ended, want 6", h.ended.Load())
	}
	m.ContainerStarted(testPod("127.0.0.1"), allProbes(), "late", time.Now())
	if m.Started("late") {
		t.Error("stopped manager took a container")
	}
	if err := goleak.Find(base); err != nil {
		t.Fatal(err)
	}
}

func TestUpdatesNeverBlockWorkers(t *testing.T) {
	var n atomic.Int32
	flip := newFakeExecer(func(context.Context, []string, time.Duration) ([]byte, []byte, int32, error) {
		return nil, nil, n.Add(1) % 2, nil
	})
	m := newTestManager(t, flip, nil)
	const containers = 10
	for i := 0; i < containers; i++ {
		c := &corev1.Container{Name: "app", ReadinessProbe: fastProbe(execProbe("r"), 1, 1)}
		m.ContainerStarted(testPod("127.0.0.1"), c, fmt.Sprintf("c%d", i), time.Now())
	}
	// Nobody reads: far more changes happen than the channel holds.
	eventually(t, 3*time.Second, "many probes", func() bool { return n.Load() > 4*updateBuffer })
	before := n.Load()
	eventually(t, time.Second, "probes going on", func() bool { return n.Load() > before+containers })
	for i := 0; i < containers; i++ {
		m.ContainerStopped(fmt.Sprintf("c%d", i))
	}
	got := 0
	for len(m.Updates()) > 0 {
		<-m.Updates()
		got++
	}
	if got > updateBuffer+containers*2 {
		t.Errorf("%d updates delivered", got)
	}
}

func TestUpdateQueueCoalesces(t *testing.T) {
	q := newUpdateQueue()
	u := func(id string, k Kind, ok bool) Update { return Update{ContainerID: id, Kind: k, Success: ok} }
	q.push(u("a", Readiness, true))
	q.push(u("b", Readiness, true))
	q.push(u("a", Liveness, false))
	q.push(u("a", Readiness, false))
	q.push(u("c", Startup, true))
	q.drop("c")
	var got []Update
	for {
		x, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, x)
	}
	want := []Update{u("a", Readiness, false), u("b", Readiness, true), u("a", Liveness, false)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProbeGracePeriod(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	withProbeGrace := &corev1.Container{
		LivenessProbe:  &corev1.Probe{TerminationGracePeriodSeconds: i64(5)},
		StartupProbe:   &corev1.Probe{TerminationGracePeriodSeconds: i64(7)},
		ReadinessProbe: &corev1.Probe{TerminationGracePeriodSeconds: i64(9)},
	}
	pod := func(spec *int64) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metaFor("p", "ns", "u"),
			Spec:       corev1.PodSpec{TerminationGracePeriodSeconds: spec},
		}
	}
	deleting := pod(i64(30))
	deleting.DeletionGracePeriodSeconds = i64(1)
	tests := []struct {
		name string
		pod  *corev1.Pod
		c    *corev1.Container
		kind Kind
		want int64
	}{
		{"pod", pod(i64(30)), &corev1.Container{LivenessProbe: &corev1.Probe{}}, Liveness, 30},
		{"liveness override", pod(i64(30)), withProbeGrace, Liveness, 5},
		{"startup override", pod(i64(30)), withProbeGrace, Startup, 7},
		{"readiness has none", pod(i64(30)), withProbeGrace, Readiness, 30},
		{"deleting", deleting, withProbeGrace, Liveness, 1},
		{"no pod grace", pod(nil), withProbeGrace, Liveness, 2},
	}
	for _, tt := range tests {
		if got := ProbeGracePeriod(tt.pod, tt.c, tt.kind); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Liveness: "Liveness", Readiness: "Readiness", Startup: "Startup", Kind(7): "Kind(7)"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}
