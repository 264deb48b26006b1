package statefulset

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
)

// step syncs once and returns the pods the sync deleted and created.
func step(f *fixture, name string) (deleted, created []string) {
	f.t.Helper()
	f.mustSync(name)
	return f.deleted("pods"), f.created("pods")
}

func TestRollingUpdateOrderWithPartition(t *testing.T) {
	f := running(t, newSet("web", 3))
	oldRev := f.getSet("web").Status.CurrentRevision
	f.updateSet("web", func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
		s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](1)
	})
	if _, done := rolloutStatus(f.getSet("web")); done {
		t.Fatal("rollout done before the controller saw the change")
	}
	// web-2 goes first and comes back from the new template; web-1 waits
	// until it is ready.
	if d, _ := step(f, "web"); !slices.Equal(d, []string{"web-2"}) {
		t.Fatalf("deleted %v, want [web-2]", d)
	}
	newRev := f.getSet("web").Status.UpdateRevision
	if newRev == oldRev {
		t.Fatal("no new update revision")
	}
	if _, c := step(f, "web"); !slices.Equal(c, []string{"web-2"}) {
		t.Fatalf("created %v, want [web-2]", c)
	}
	if img, rev := f.image("web-2"), revisionOf(f.pod("web-2")); img != "nginx:2" || rev != newRev {
		t.Errorf("web-2 has image %s, revision %s", img, rev)
	}
	if d, _ := step(f, "web"); len(d) != 0 {
		t.Fatalf("deleted %v while web-2 is not ready", d)
	}
	if msg, done := rolloutStatus(f.getSet("web")); done {
		t.Fatalf("rollout done (%s) with web-2 not ready", msg)
	}
	f.ready("web-2")
	if d, _ := step(f, "web"); !slices.Equal(d, []string{"web-1"}) {
		t.Fatalf("deleted %v, want [web-1]", d)
	}
	step(f, "web")
	f.ready("web-1")
	if d, _ := step(f, "web"); len(d) != 0 {
		t.Fatalf("deleted %v below the partition", d)
	}
	st := f.getSet("web").Status
	want := appsv1.StatefulSetStatus{
		ObservedGeneration: 2, Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
		CurrentReplicas: 1, UpdatedReplicas: 2, CurrentRevision: oldRev, UpdateRevision: newRev,
		CollisionCount: ptr.To[int32](0),
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("status with partition 1 (-want +got):\n%s", d)
	}
	if msg, done := rolloutStatus(f.getSet("web")); !done {
		t.Errorf("partitioned rollout not done: %s", msg)
	}

	// A pod below the partition is made anew from the old revision.
	f.deletePod("web-0")
	if _, c := step(f, "web"); !slices.Equal(c, []string{"web-0"}) || f.image("web-0") != "nginx:1" {
		t.Fatalf("created %v with image %s, want web-0 at nginx:1", c, f.image("web-0"))
	}
	f.ready("web-0")

	// Lowering the partition finishes the rollout; then the update
	// revision is current.
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	if d, _ := step(f, "web"); !slices.Equal(d, []string{"web-0"}) {
		t.Fatalf("deleted %v, want [web-0]", d)
	}
	step(f, "web")
	if msg, done := rolloutStatus(f.getSet("web")); done {
		t.Fatalf("rollout done (%s) before web-0 is ready", msg)
	}
	f.ready("web-0")
	step(f, "web")
	st = f.getSet("web").Status
	if st.CurrentRevision != newRev || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 {
		t.Errorf("status after the rollout = %+v", st)
	}
	if msg, done := rolloutStatus(f.getSet("web")); !done {
		t.Errorf("rollout not done: %s", msg)
	}
}

func TestRollingUpdateWithoutConfiguration(t *testing.T) {
	// Without rollingUpdate, kubectl waits for the update revision to
	// become current.
	set := newSet("web", 2)
	set.Spec.UpdateStrategy.RollingUpdate = nil
	f := running(t, set)
	f.rollTo("web", "nginx:2")
	var order []string
	for range 10 {
		d, _ := step(f, "web")
		order = append(order, d...)
		if msg, done := rolloutStatus(f.getSet("web")); done {
			if !slices.Equal(order, []string{"web-1", "web-0"}) {
				t.Errorf("deleted %v, want web-1 then web-0", order)
			}
			if f.image("web-0") != "nginx:2" || f.image("web-1") != "nginx:2" {
				t.Errorf("rollout done (%s) with old pods", msg)
			}
			return
		}
		f.readyAll()
	}
	t.Fatalf("rollout not done; deleted %v, status %+v", order, f.getSet("web").Status)
}

func TestParallelRollingUpdateOneAtATime(t *testing.T) {
	f := running(t, parallel(newSet("web", 3)))
	f.rollTo("web", "nginx:2")
	if d, _ := step(f, "web"); !slices.Equal(d, []string{"web-2"}) {
		t.Fatalf("deleted %v, want [web-2]", d)
	}
	if d, c := step(f, "web"); len(d) != 0 || !slices.Equal(c, []string{"web-2"}) {
		t.Fatalf("deleted %v, created %v; want web-2 created only", d, c)
	}
	if d, _ := step(f, "web"); len(d) != 0 {
		t.Fatalf("deleted %v while the new web-2 is not ready", d)
	}
	f.ready("web-2")
	if d, _ := step(f, "web"); !slices.Equal(d, []string{"web-1"}) {
		t.Fatalf("deleted %v once web-2 is ready, want [web-1]", d)
	}
}

func TestOnDelete(t *testing.T) {
	set := newSet("web", 2)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	f := running(t, set)
	oldRev := f.getSet("web").Status.CurrentRevision
	f.rollTo("web", "nginx:2")
	for range 2 {
		if d, _ := step(f, "web"); len(d) != 0 {
			t.Fatalf("deleted %v under OnDelete", d)
		}
	}
	st := f.getSet("web").Status
	if st.UpdatedReplicas != 0 || st.CurrentReplicas != 2 || st.CurrentRevision != oldRev || st.UpdateRevision == oldRev {
		t.Errorf("status = %+v", st)
	}
	f.deletePod("web-1")
	if _, c := step(f, "web"); !slices.Equal(c, []string{"web-1"}) {
		t.Fatalf("created %v, want [web-1]", c)
	}
	if f.image("web-1") != "nginx:2" || f.image("web-0") != "nginx:1" {
		t.Errorf("images web-0 %s, web-1 %s", f.image("web-0"), f.image("web-1"))
	}
	f.ready("web-1")
	step(f, "web")
	if st := f.getSet("web").Status; st.UpdatedReplicas != 1 || st.CurrentReplicas != 1 {
		t.Errorf("status = %+v", st)
	}
}
