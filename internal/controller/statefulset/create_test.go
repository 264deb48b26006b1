package statefulset

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOrderedCreationWaitsForReadiness(t *testing.T) {
	f := newFixture(t, newSet("web", 3))
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-0"}) {
		t.Fatalf("first sync created %v, want [web-0]", got)
	}
	if evs := f.events(); !slices.Contains(evs, "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful") {
		t.Errorf("events = %v", evs)
	}
	p := f.pod("web-0")
	rev := f.getSet("web").Status.UpdateRevision
	wantLabels := map[string]string{
		"app": "web", revisionLabel: rev, podNameLabel: "web-0", podIndexLabel: "0",
	}
	if d := cmp.Diff(wantLabels, p.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if p.Spec.Hostname != "web-0" || p.Spec.Subdomain != "web-svc" {
		t.Errorf("hostname %q, subdomain %q", p.Spec.Hostname, p.Spec.Subdomain)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "StatefulSet" || ref.Name != "web" || ref.UID != "web-uid" {
		t.Errorf("controller ref = %+v", ref)
	}

	// web-1 waits while web-0 is pending, then running but not ready.
	f.mustSync("web")
	if got := f.created("pods"); len(got) != 0 {
		t.Fatalf("created %v while web-0 is pending", got)
	}
	f.setPhase(corev1.PodRunning, "web-0")
	notReady := f.pod("web-0")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	f.check(f.client.Tracker().Update(podsGVR, notReady, ns))
	f.mustSync("web")
	if got := f.created("pods"); len(got) != 0 {
		t.Fatalf("created %v while web-0 is not ready", got)
	}
	f.ready("web-0")
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-1"}) {
		t.Fatalf("created %v once web-0 is ready, want [web-1]", got)
	}
	f.ready("web-1")
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-2"}) {
		t.Fatalf("created %v, want [web-2]", got)
	}
	f.ready("web-2")
	f.mustSync("web")
	f.mustSync("web")
	if w := f.writes(); len(w) != 0 {
		t.Errorf("steady state sync made %d writes: %v", len(w), w)
	}
	if got := f.podNames(); !slices.Equal(got, []string{"web-0", "web-1", "web-2"}) {
		t.Errorf("pods = %v", got)
	}
}

func TestOrderedCreationWaitsForMinReadySeconds(t *testing.T) {
	set := newSet("web", 2)
	set.Spec.MinReadySeconds = 30
	f := newFixture(t, set)
	f.mustSync("web")
	f.ready("web-0") // ready since t0
	f.clock.Step(10 * time.Second)
	f.mustSync("web")
	if got := f.created("pods"); len(got) != 0 {
		t.Fatalf("created %v before web-0 was available", got)
	}
	if f.requeue < 20*time.Second || f.requeue > 21*time.Second {
		t.Errorf("requeue = %v, want about 20s", f.requeue)
	}
	if st := f.getSet("web").Status; st.ReadyReplicas != 1 || st.AvailableReplicas != 0 {
		t.Errorf("status = %+v, want 1 ready, 0 available", st)
	}
	f.clock.Step(21 * time.Second)
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-1"}) {
		t.Fatalf("created %v once web-0 was available, want [web-1]", got)
	}
	if st := f.getSet("web").Status; st.AvailableReplicas != 1 {
		t.Errorf("available = %d, want 1", st.AvailableReplicas)
	}
}

func TestParallelCreation(t *testing.T) {
	f := newFixture(t, parallel(newSet("web", 3)))
	f.mustSync("web")
	got := f.created("pods")
	slices.Sort(got)
	if !slices.Equal(got, []string{"web-0", "web-1", "web-2"}) {
		t.Fatalf("created %v, want all three at once", got)
	}
}

func TestStartOrdinal(t *testing.T) {
	set := newSet("web", 2)
	set.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
	f := newFixture(t, set)
	f.mustSync("web")
	f.readyAll()
	f.mustSync("web")
	if got := f.podNames(); !slices.Equal(got, []string{"web-5", "web-6"}) {
		t.Fatalf("pods = %v, want [web-5 web-6]", got)
	}
	if l := f.pod("web-6").Labels[podIndexLabel]; l != "6" {
		t.Errorf("pod index label = %q", l)
	}
	// Moving the start replaces the pods out of range, highest first.
	f.readyAll()
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Ordinals.Start = 6 })
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-7"}) {
		t.Fatalf("created %v, want [web-7]", got)
	}
	f.readyAll()
	f.mustSync("web")
	if got := f.deleted("pods"); !slices.Equal(got, []string{"web-5"}) {
		t.Errorf("deleted %v, want [web-5]", got)
	}
}

func TestRecreatesFailedAndDeletedPods(t *testing.T) {
	for _, phase := range []corev1.PodPhase{corev1.PodFailed, corev1.PodSucceeded} {
		t.Run(string(phase), func(t *testing.T) {
			f := newFixture(t, newSet("web", 3))
			for range 3 {
				f.mustSync("web")
				f.readyAll()
			}
			oldUID := f.pod("web-1").UID
			f.setPhase(phase, "web-1")
			f.mustSync("web")
			if got := f.deleted("pods"); !slices.Equal(got, []string{"web-1"}) {
				t.Fatalf("deleted %v, want [web-1]", got)
			}
			if evs := f.events(); !slices.Contains(evs, "Normal SuccessfulDelete delete Pod web-1 in StatefulSet web successful") {
				t.Errorf("events = %v", evs)
			}
			f.mustSync("web")
			if got := f.created("pods"); !slices.Equal(got, []string{"web-1"}) {
				t.Fatalf("created %v, want web-1 again", got)
			}
			if f.pod("web-1").UID == oldUID {
				t.Error("web-1 was not made anew")
			}
		})
	}
	t.Run("deleted", func(t *testing.T) {
		f := newFixture(t, newSet("web", 2))
		for range 2 {
			f.mustSync("web")
			f.readyAll()
		}
		f.deletePod("web-0")
		f.mustSync("web")
		if got := f.created("pods"); !slices.Equal(got, []string{"web-0"}) {
			t.Fatalf("created %v, want web-0 again", got)
		}
	})
}

func TestWaitsForTerminatingPod(t *testing.T) {
	f := newFixture(t, newSet("web", 3))
	for range 2 {
		f.mustSync("web")
		f.readyAll()
	}
	f.terminating("web-0")
	f.mustSync("web")
	if got := f.created("pods"); len(got) != 0 {
		t.Fatalf("created %v while web-0 is terminating", got)
	}
}

func TestRestoresIdentityLabels(t *testing.T) {
	f := running(t, newSet("web", 1))
	p := f.pod("web-0")
	delete(p.Labels, podNameLabel)
	f.check(f.client.Tracker().Update(podsGVR, p, ns))
	f.mustSync("web")
	if l := f.pod("web-0").Labels; l[podNameLabel] != "web-0" || l[podIndexLabel] != "0" {
		t.Errorf("labels = %v", l)
	}
	if evs := f.events(); !slices.Contains(evs, "Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful") {
		t.Errorf("events = %v", evs)
	}
}
