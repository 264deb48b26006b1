package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func qpod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)},
		Spec:       corev1.PodSpec{Priority: &prio},
	}
}

func TestQueuePopsByPriorityThenArrival(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	for _, p := range []*corev1.Pod{qpod("a", 0), qpod("b", 10), qpod("c", 0), qpod("d", 10)} {
		q.Add(p)
		clk.step(time.Millisecond)
	}
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, q.Pop().pod.Name)
	}
	want := []string{"b", "d", "a", "c"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("popped %v, want %v", got, want)
		}
	}
}

func TestQueueUnschedulableWaitsForAnEventThenBacksOff(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.Add(qpod("a", 0))
	qp := q.Pop()
	q.Unschedulable(qp)
	if a, b, u := q.Len(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("after Unschedulable: active %d backoff %d unschedulable %d, want 0 0 1", a, b, u)
	}
	q.flush()
	if a, _, u := q.Len(); a != 0 || u != 1 {
		t.Fatalf("a flush without an event moved the pod: active %d unschedulable %d", a, u)
	}
	// An event right after the failure: the pod backs off (1 s) first.
	q.MoveAll(nil)
	if a, b, _ := q.Len(); a != 0 || b != 1 {
		t.Fatalf("after MoveAll: active %d backoff %d, want 0 1", a, b)
	}
	clk.step(999 * time.Millisecond)
	q.flush()
	if a, _, _ := q.Len(); a != 0 {
		t.Fatal("left back-off before 1 s")
	}
	clk.step(time.Millisecond)
	q.flush()
	if a, _, _ := q.Len(); a != 1 {
		t.Fatal("still backing off after 1 s")
	}
}

func TestQueueBackoffDoubles(t *testing.T) {
	q := newQueue(newFakeClock().now)
	qp := &queuedPod{}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		qp.attempts = attempts
		if got := q.backoffDuration(qp); got != want {
			t.Errorf("attempt %d: back-off %v, want %v", attempts, got, want)
		}
	}
}

func TestQueueEventDuringCycleSendsPodToBackoff(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.Add(qpod("a", 0))
	qp := q.Pop()
	q.MoveAll(nil) // e.g. a node was added while the pod was being scheduled
	q.Unschedulable(qp)
	if _, b, u := q.Len(); b != 1 || u != 0 {
		t.Fatalf("backoff %d unschedulable %d, want 1 0: the event may have made room", b, u)
	}
}

func TestQueueMoveAllFilter(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.Add(qpod("plain", 0))
	aff := qpod("affinity", 0)
	aff.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{}}
	q.Add(aff)
	q.Unschedulable(q.Pop())
	q.Unschedulable(q.Pop())
	q.MoveAll(hasPodAffinity)
	if _, b, u := q.Len(); b != 1 || u != 1 {
		t.Fatalf("backoff %d unschedulable %d, want 1 1", b, u)
	}
}

func TestQueueParkedPodsRetryAfterFiveMinutes(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.Add(qpod("a", 0))
	q.Unschedulable(q.Pop())
	clk.step(maxUnschedulableTime)
	q.flush()
	if a, _, u := q.Len(); a != 1 || u != 0 {
		t.Fatalf("active %d unschedulable %d after 5 min, want 1 0", a, u)
	}
}

func TestQueueDeleteAndDone(t *testing.T) {
	q := newQueue(newFakeClock().now)
	a, b := qpod("a", 0), qpod("b", 0)
	q.Add(a)
	q.Add(b)
	q.Delete(a)
	qp := q.Pop()
	if qp.pod.Name != "b" {
		t.Fatalf("popped %s, want b", qp.pod.Name)
	}
	q.Done(qp.pod.UID)
	q.Unschedulable(qp) // late: ignored, the pod is done
	if x, y, z := q.Len(); x+y+z != 0 {
		t.Fatalf("queue not empty: %d %d %d", x, y, z)
	}
}

func TestQueueNominatedPods(t *testing.T) {
	q := newQueue(newFakeClock().now)
	hi, lo := qpod("hi", 100), qpod("lo", 1)
	q.Nominate(hi, "n1")
	q.Nominate(lo, "n1")
	if got := q.NominatedPods("n1", 50, "x"); len(got) != 1 || got[0].Name != "hi" {
		t.Fatalf("nominated with priority >= 50: %v", got)
	}
	if got := q.NominatedPods("n1", 0, "hi"); len(got) != 1 || got[0].Name != "lo" {
		t.Fatalf("nominated except hi: %v", got)
	}
	q.Nominate(hi, "")
	q.Delete(lo)
	if q.HasNominated() {
		t.Fatal("nominations left after clearing")
	}
}
