package statefulset

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// running returns a fixture whose set runs n ready pods.
func running(t *testing.T, set *appsv1.StatefulSet) *fixture {
	t.Helper()
	f := newFixture(t, set)
	for range replicas(set) + 1 {
		f.mustSync(set.Name)
		f.readyAll()
	}
	if got := len(f.pods()); got != replicas(set) {
		t.Fatalf("%d pods running, want %d", got, replicas(set))
	}
	f.mustSync(set.Name)
	return f
}

func scale(f *fixture, name string, n int32) {
	f.updateSet(name, func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To(n) })
}

func TestOrderedScaleDown(t *testing.T) {
	f := running(t, newSet("web", 4))
	scale(f, "web", 1)
	for _, want := range []string{"web-3", "web-2", "web-1"} {
		f.mustSync("web")
		if got := f.deleted("pods"); !slices.Equal(got, []string{want}) {
			t.Fatalf("deleted %v, want [%s]", got, want)
		}
	}
	f.mustSync("web")
	if got := f.deleted("pods"); len(got) != 0 {
		t.Fatalf("deleted %v after reaching one replica", got)
	}
	if st := f.getSet("web").Status; st.Replicas != 1 || st.ReadyReplicas != 1 {
		t.Errorf("status = %+v", st)
	}
}

func TestOrderedScaleDownWaits(t *testing.T) {
	t.Run("unhealthy replica", func(t *testing.T) {
		f := running(t, newSet("web", 3))
		f.setPhase(corev1.PodPending, "web-0")
		scale(f, "web", 1)
		f.mustSync("web")
		if got := f.deleted("pods"); len(got) != 0 {
			t.Fatalf("deleted %v while web-0 is not ready", got)
		}
	})
	t.Run("terminating pod", func(t *testing.T) {
		f := running(t, newSet("web", 3))
		scale(f, "web", 1)
		f.terminating("web-2")
		f.mustSync("web")
		if got := f.deleted("pods"); len(got) != 0 {
			t.Fatalf("deleted %v while web-2 is terminating", got)
		}
	})
	t.Run("unhealthy condemned pods", func(t *testing.T) {
		// The highest pod goes if it is healthy or the lowest unhealthy
		// one; else it waits for the unhealthy pods below it.
		f := running(t, newSet("web", 3))
		f.setPhase(corev1.PodPending, "web-1", "web-2")
		scale(f, "web", 1)
		f.mustSync("web")
		if got := f.deleted("pods"); len(got) != 0 {
			t.Fatalf("deleted %v with web-1 unhealthy below the unhealthy web-2", got)
		}
		f.ready("web-1")
		f.mustSync("web")
		if got := f.deleted("pods"); !slices.Equal(got, []string{"web-2"}) {
			t.Fatalf("deleted %v, want the unhealthy web-2 as the lowest unhealthy pod", got)
		}
	})
}

func TestParallelScaleDown(t *testing.T) {
	f := running(t, parallel(newSet("web", 4)))
	f.setPhase(corev1.PodPending, "web-0")
	scale(f, "web", 1)
	f.mustSync("web")
	if got := f.deleted("pods"); !slices.Equal(got, []string{"web-1", "web-2", "web-3"}) {
		t.Fatalf("deleted %v, want all three at once", got)
	}
}

func TestScaleToZero(t *testing.T) {
	f := running(t, newSet("web", 2))
	scale(f, "web", 0)
	for range 3 {
		f.mustSync("web")
	}
	if got := f.podNames(); len(got) != 0 {
		t.Fatalf("pods = %v", got)
	}
	if st := f.getSet("web").Status; st.Replicas != 0 || st.CurrentRevision != st.UpdateRevision {
		t.Errorf("status = %+v", st)
	}
}
