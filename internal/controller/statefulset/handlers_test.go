package statefulset

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// drain empties the queue and returns the keys that were in it.
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

func TestPodEventsObserveExpectations(t *testing.T) {
	set := newSet("web", 2)
	f := newFixture(t, set)
	key := "default/web"
	p := newPod(set, &set.Spec.Template, "web-1", 0)
	p.UID = "web-0-uid"
	f.c.exp.Expect(key, 1, []string{"default/web-1"})
	f.c.onPodAdd(p)
	if f.c.exp.Satisfied(key) {
		t.Fatal("satisfied with a deletion outstanding")
	}
	gone := p.DeepCopy()
	gone.Name = "web-1"
	gone.DeletionTimestamp = &metav1.Time{Time: t0}
	f.c.onPodUpdate(p, gone)
	if !f.c.exp.Satisfied(key) {
		t.Fatal("not satisfied after the create and the graceful deletion were seen")
	}
	if got := f.drain(); !slices.Equal(got, []string{key}) {
		t.Errorf("queue = %v", got)
	}
	orphan := p.DeepCopy()
	orphan.OwnerReferences = nil
	f.c.onPodAdd(orphan)
	if got := f.drain(); !slices.Equal(got, []string{key}) {
		t.Errorf("orphan enqueued %v, want the set that may adopt it", got)
	}
	stranger := orphan.DeepCopy()
	stranger.Labels = map[string]string{"app": "other"}
	f.c.onPodAdd(stranger)
	if got := f.drain(); len(got) != 0 {
		t.Errorf("unrelated pod enqueued %v", got)
	}
}

func TestClaimDeletionWakesSet(t *testing.T) {
	set := withClaims(newSet("web", 1))
	f := newFixture(t, set)
	f.c.onClaimDelete(newClaim(set, &set.Spec.VolumeClaimTemplates[0], 0))
	if got := f.drain(); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("queue = %v", got)
	}
}

func TestExpectationsHoldBackSecondSync(t *testing.T) {
	f := newFixture(t, parallel(newSet("web", 2)))
	f.mustSync("web")
	// The informer has not reported the two pods: the next sync must not
	// act on its cache.
	f.check(f.client.Tracker().Delete(podsGVR, ns, "web-0"))
	f.refresh()
	f.client.ClearActions()
	if _, err := f.c.sync(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	if c := f.created("pods"); len(c) != 0 {
		t.Fatalf("created %v with creates outstanding", c)
	}
	for _, p := range f.pods() {
		f.c.onPodAdd(p)
	}
	f.c.exp.CreationsObserved("default/web", 1) // web-0's add event
	if _, err := f.c.sync(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	if c := f.created("pods"); !slices.Equal(c, []string{"web-0"}) {
		t.Fatalf("created %v once the creates were seen, want [web-0]", c)
	}
}

func TestAdoptsOrphanPod(t *testing.T) {
	set := newSet("web", 1)
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, UID: "orphan-uid", Labels: map[string]string{"app": "web"}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	lookalike := orphan.DeepCopy()
	lookalike.Name, lookalike.UID = "cache-0", "cache-uid"
	f := newFixture(t, set, orphan, lookalike)
	f.mustSync("web")
	if c := f.created("pods"); len(c) != 0 {
		t.Errorf("created %v, want web-0 adopted instead", c)
	}
	patches := f.actions("patch", "pods")
	if len(patches) != 1 || patches[0].(interface{ GetName() string }).GetName() != "web-0" {
		t.Fatalf("patches = %v, want web-0 adopted and cache-0 left alone", patches)
	}
	if ref := metav1.GetControllerOf(f.pod("web-0")); ref == nil || ref.UID != set.UID {
		t.Errorf("web-0 owner = %v", ref)
	}
}

func TestReleasesRelabelledPod(t *testing.T) {
	f := running(t, newSet("web", 1))
	p := f.pod("web-0")
	p.Labels["app"] = "debug"
	f.check(f.client.Tracker().Update(podsGVR, p, ns))
	// The released pod keeps the name, so the replacement cannot be made
	// until it is renamed or deleted.
	if err := f.sync("web"); err == nil {
		t.Error("sync succeeded while the released pod holds the name")
	}
	if len(f.actions("patch", "pods")) != 1 || metav1.GetControllerOf(f.pod("web-0")) != nil {
		t.Fatalf("actions = %v, want a release patch", f.writes())
	}
}

func TestDoesNotAdoptForReplacedSet(t *testing.T) {
	set := newSet("web", 1)
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, UID: "orphan-uid", Labels: map[string]string{"app": "web"}}}
	f := newFixture(t, set, orphan)
	f.refresh()
	// The API now holds another set of that name.
	replaced := newSet("web", 1)
	replaced.UID = types.UID("new-uid")
	f.check(f.client.Tracker().Update(setsGVR, replaced, ns))
	f.client.ClearActions()
	if _, err := f.c.sync(context.Background(), "default/web"); err == nil {
		t.Fatal("sync succeeded adopting for a replaced set")
	}
	if len(f.actions("patch", "pods")) != 0 {
		t.Errorf("adopted for a replaced set: %v", f.writes())
	}
}
