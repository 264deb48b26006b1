package daemonset

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// drain empties the queue and returns its keys.
func (f *fixture) drain() []string {
	var out []string
	for f.c.queue.Len() > 0 {
		k, _ := f.c.queue.Get()
		f.c.queue.Done(k)
		f.c.queue.Forget(k)
		out = append(out, k)
	}
	return out
}

func TestNodeEvents(t *testing.T) {
	ds := newDS("agent")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"}
	f := newFixture(t, ds)
	f.c.onNodeAdd(newNode("db", labelled("role", "db")))
	if got := f.drain(); len(got) != 0 {
		t.Errorf("node the DaemonSet ignores enqueued %v", got)
	}
	f.c.onNodeAdd(newNode("w", labelled("role", "worker")))
	if got := f.drain(); len(got) != 1 || got[0] != "default/agent" {
		t.Errorf("matching node enqueued %v", got)
	}
	old := newNode("w", labelled("role", "worker"))
	hb := old.DeepCopy()
	hb.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(time.Now())}}
	f.c.onNodeUpdate(old, hb)
	if got := f.drain(); len(got) != 0 {
		t.Errorf("heartbeat enqueued %v", got)
	}
	f.c.onNodeUpdate(old, newNode("w", labelled("role", "db")))
	if got := f.drain(); len(got) != 1 {
		t.Errorf("label change enqueued %v", got)
	}
	f.c.onNodeDelete(old)
	if got := f.drain(); len(got) != 1 {
		t.Errorf("node delete enqueued %v", got)
	}
}

func TestPodEventsObserveExpectations(t *testing.T) {
	ds := newDS("agent")
	f := newFixture(t, ds)
	key := "default/agent"
	p := newPod(ds, "n1", "h")
	p.Name, p.UID = "agent-1", types.UID("agent-1-uid")
	f.c.exp.Expect(key, 1, []string{"default/agent-2"})
	f.c.onPodAdd(p)
	if f.c.exp.Satisfied(key) {
		t.Fatal("satisfied with a deletion outstanding")
	}
	gone := p.DeepCopy()
	gone.Name = "agent-2"
	f.c.onPodDelete(gone)
	if !f.c.exp.Satisfied(key) {
		t.Fatal("not satisfied after the create and delete were seen")
	}
	if got := f.drain(); len(got) != 1 || got[0] != key {
		t.Errorf("queue = %v", got)
	}
	orphan := p.DeepCopy()
	orphan.OwnerReferences = nil
	f.c.onPodAdd(orphan)
	if got := f.drain(); len(got) != 1 {
		t.Errorf("orphan enqueued %v, want the DaemonSet that may adopt it", got)
	}
}

func TestAdoptsOrphan(t *testing.T) {
	ds := newDS("agent")
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, UID: "stray-uid", Labels: map[string]string{"app": "agent"}},
		Spec:       corev1.PodSpec{NodeName: "n1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	f := newFixture(t, ds, newNode("n1"), orphan)
	f.mustSync("agent")
	if c := f.createdNodes(); len(c) != 0 {
		t.Errorf("created on %v, want the orphan adopted instead", c)
	}
	if len(f.actions("patch", "pods")) != 1 {
		t.Errorf("actions = %v", f.client.Actions())
	}
}

func TestReleasesRelabelledPod(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	p := f.pods()["n1"][0]
	p.Labels["app"] = "debug"
	f.update(p)
	f.mustSync("agent")
	if len(f.actions("patch", "pods")) != 1 {
		t.Errorf("actions = %v, want a release patch", f.client.Actions())
	}
	if c := f.createdNodes(); len(c) != 1 {
		t.Errorf("created on %v, want a replacement on n1", c)
	}
}
