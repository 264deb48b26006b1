package replicaset

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// drain returns the keys in the queue, sorted.
func drain(c *Controller) []string {
	var out []string
	for c.queue.Len() > 0 {
		k, _ := c.queue.Get()
		c.queue.Done(k)
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestPodEventsWakeOwners(t *testing.T) {
	web, web2, other := newRS("web", 1), newRS("web2", 1), newRS("other", 1)
	web2.Spec.Selector.MatchLabels = map[string]string{"tier": "web"} // overlaps web
	f := newFixture(t, false, web, web2, other)
	drain(f.c)

	f.c.exp.ExpectCreations("default/web", 1)
	f.c.onPodAdd(newPod("owned", "web", web))
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("owned pod added: queue %v", got)
	}
	if !f.c.exp.Satisfied("default/web") {
		t.Error("owned pod added: creation not observed")
	}

	f.c.onPodAdd(newPod("orphan", "web", nil))
	if got := drain(f.c); !slices.Equal(got, []string{"default/web", "default/web2"}) {
		t.Errorf("orphan added: queue %v, want both selecting", got)
	}

	stale := newPod("stale", "web", web)
	stale.OwnerReferences[0].UID = "old-uid"
	f.c.onPodAdd(stale)
	isController := true
	job := newPod("foreign-kind", "web", nil, func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "web", UID: web.UID, Controller: &isController}}
	})
	f.c.onPodAdd(job)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("pods of a stale UID or another kind: queue %v", got)
	}

	// Orphan relabeled: those selecting it now wake up.
	old := newPod("orphan", "db", nil)
	cur := newPod("orphan", "other", nil, func(p *corev1.Pod) { p.ResourceVersion = "2" })
	f.c.onPodUpdate(old, cur)
	if got := drain(f.c); !slices.Equal(got, []string{"default/other", "default/web2"}) {
		t.Errorf("orphan relabeled: queue %v", got)
	}

	// Controller changed: both old and new owners.
	old = newPod("moved", "web", web)
	cur = newPod("moved", "web", other, func(p *corev1.Pod) { p.ResourceVersion = "2" })
	f.c.onPodUpdate(old, cur)
	if got := drain(f.c); !slices.Equal(got, []string{"default/other", "default/web"}) {
		t.Errorf("controller changed: queue %v", got)
	}

	// A resync (same resource version) changes nothing.
	f.c.onPodUpdate(old, old)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("resync: queue %v", got)
	}

	// Deleted orphans concern nobody.
	f.c.onPodDelete(cacheTombstone(newPod("orphan", "web", nil)))
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("orphan deleted: queue %v", got)
	}
}

func TestAddPodBeingDeletedIsADeletion(t *testing.T) {
	web := newRS("web", 1)
	f := newFixture(t, false, web)
	drain(f.c)
	p := newPod("going", "web", web, func(p *corev1.Pod) { now := metav1.NewTime(t0); p.DeletionTimestamp = &now })
	f.c.exp.ExpectDeletions("default/web", []string{podKey(p)})
	f.c.onPodAdd(p)
	if !f.c.exp.Satisfied("default/web") {
		t.Error("deletion not observed")
	}
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("queue %v", got)
	}
}

func TestReplicaSetEvents(t *testing.T) {
	web := newRS("web", 1)
	f := newFixture(t, false, web)
	drain(f.c)

	f.c.onAdd(web)
	f.c.onUpdate(web, web)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("add and update: queue %v", got)
	}

	f.c.exp.ExpectCreations("default/web", 2)
	f.c.onDelete(cache.DeletedFinalStateUnknown{Key: "default/web", Obj: web})
	if !f.c.exp.Satisfied("default/web") {
		t.Error("expectations kept after the ReplicaSet was deleted")
	}
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("delete: queue %v", got)
	}

	// Recreated under the same name, seen as an update.
	f.c.exp.ExpectCreations("default/web", 2)
	again := web.DeepCopy()
	again.UID = "web-uid-2"
	f.c.onUpdate(web, again)
	if !f.c.exp.Satisfied("default/web") {
		t.Error("expectations of the old object kept for the new one")
	}
}

func TestSyncOfDeletedReplicaSet(t *testing.T) {
	f := newFixture(t, false)
	f.c.exp.ExpectCreations("default/gone", 1)
	if _, err := f.sync("default/gone"); err != nil {
		t.Fatal(err)
	}
	if !f.c.exp.Satisfied("default/gone") {
		t.Error("expectations of a deleted ReplicaSet kept")
	}
}

// TestStart runs the controller on informers over a fake API: it creates
// the pods, reports them in the status, scales down, and records events.
func TestStart(t *testing.T) {
	client, _ := newClient()
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()
	factory.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		factory.Shutdown()
	})

	pods := func() int {
		l, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	if _, err := client.AppsV1().ReplicaSets(ns).Create(ctx, newRS("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 pods", func() bool { return pods() == 3 })
	waitFor(t, "status.replicas 3", func() bool {
		rs, err := client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 3
	})

	rs, err := client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	rs.Spec.Replicas = &one
	if _, err := client.AppsV1().ReplicaSets(ns).Update(ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "1 pod", func() bool { return pods() == 1 })
	waitFor(t, "status.replicas 1", func() bool {
		rs, err := client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 1
	})
	waitFor(t, "events", func() bool {
		l, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		var created, deleted bool
		for _, e := range l.Items {
			if e.Source.Component != "replicaset-controller" || e.InvolvedObject.Kind != "ReplicaSet" || e.InvolvedObject.Name != "web" {
				continue
			}
			created = created || (e.Reason == "SuccessfulCreate" && strings.HasPrefix(e.Message, "Created pod: web-"))
			deleted = deleted || (e.Reason == "SuccessfulDelete" && strings.HasPrefix(e.Message, "Deleted pod: web-"))
		}
		return created && deleted
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
