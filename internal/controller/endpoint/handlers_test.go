package endpoint

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
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

func TestPodEventsWakeSelectingServices(t *testing.T) {
	front := newService("front", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"tier": "front"} })
	manual := newService("manual", func(s *corev1.Service) { s.Spec.Selector = nil })
	elsewhere := newService("web", func(s *corev1.Service) { s.Namespace = "other" })
	f := newFixture(t, newService("web"), newService("db"), front, manual, elsewhere)
	drain(f.c)

	p := newPod("a", "web", "10.0.0.1", func(p *corev1.Pod) { p.Labels["tier"] = "front"; p.ResourceVersion = "1" })
	f.c.onPodAdd(p)
	if got := drain(f.c); !slices.Equal(got, []string{"default/front", "default/web"}) {
		t.Errorf("add: queue %v", got)
	}

	steps := []struct {
		name string
		mod  func(*corev1.Pod)
		want []string
	}{
		{"annotation only", func(p *corev1.Pod) { p.Annotations = map[string]string{"x": "y"} }, nil},
		{"readiness", notReady, []string{"default/front", "default/web"}},
		{"deletion", terminating, []string{"default/front", "default/web"}},
		{"ip", func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.9"}} }, []string{"default/front", "default/web"}},
		{"terminal phase", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, []string{"default/front", "default/web"}},
		// A label change alone concerns the services gained or lost.
		{"relabel", func(p *corev1.Pod) { p.Labels["app"] = "db" }, []string{"default/db", "default/web"}},
	}
	for i, s := range steps {
		cur := p.DeepCopy()
		s.mod(cur)
		cur.ResourceVersion = string(rune('2' + i))
		f.c.onPodUpdate(p, cur)
		if got := drain(f.c); !slices.Equal(got, s.want) {
			t.Errorf("%s: queue %v, want %v", s.name, got, s.want)
		}
	}

	f.c.onPodUpdate(p, p)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("resync: queue %v", got)
	}
	f.c.onPodDelete(cache.DeletedFinalStateUnknown{Key: "default/a", Obj: p})
	if got := drain(f.c); !slices.Equal(got, []string{"default/front", "default/web"}) {
		t.Errorf("delete: queue %v", got)
	}

	// A deleted service no longer selects anything.
	f.c.onServiceDelete(front)
	if got := drain(f.c); !slices.Equal(got, []string{"default/front"}) {
		t.Errorf("service delete: queue %v", got)
	}
	f.c.onPodAdd(p)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("add after service delete: queue %v", got)
	}
}

func TestEndpointsEventsWakeTheirService(t *testing.T) {
	f := newFixture(t, newService("web"))
	drain(f.c)
	old := &corev1.Endpoints{}
	old.Name, old.Namespace, old.ResourceVersion = "web", ns, "5"
	cur := old.DeepCopy()
	f.c.onEndpointsUpdate(old, old)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("resync: queue %v", got)
	}
	cur.ResourceVersion = "6"
	f.c.onEndpointsUpdate(old, cur)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("update: queue %v", got)
	}
	f.c.stale.wrote("default/web", cur)
	f.c.onEndpointsDelete(cache.DeletedFinalStateUnknown{Key: "default/web", Obj: cur})
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("delete: queue %v", got)
	}
	if f.c.stale.isStale("default/web", cur) {
		t.Error("stale record kept after the Endpoints were deleted")
	}
}
