package endpointslice

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	f := newFixture(t, newService("web"), newService("db"), newService("manual", func(s *corev1.Service) { s.Spec.Selector = nil }))
	drain(f.c)
	p := newPod("a", "web", "10.0.0.1", func(p *corev1.Pod) { p.ResourceVersion = "1" })
	f.c.onPodAdd(p)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("add: queue %v", got)
	}
	cur := p.DeepCopy()
	cur.ResourceVersion, cur.Annotations = "2", map[string]string{"x": "y"}
	f.c.onPodUpdate(p, cur)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("annotation change: queue %v", got)
	}
	cur = p.DeepCopy()
	cur.ResourceVersion = "3"
	notReady(cur)
	f.c.onPodUpdate(p, cur)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("readiness change: queue %v", got)
	}
	cur = p.DeepCopy()
	cur.ResourceVersion, cur.Labels = "4", map[string]string{"app": "db"}
	f.c.onPodUpdate(p, cur)
	if got := drain(f.c); !slices.Equal(got, []string{"default/db", "default/web"}) {
		t.Errorf("relabel: queue %v", got)
	}
	f.c.onPodDelete(cache.DeletedFinalStateUnknown{Key: "default/a", Obj: p})
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("delete: queue %v", got)
	}
}

func managedSlice(name, svc string, gen int64) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: ns, Generation: gen, ResourceVersion: "1",
		Labels: map[string]string{discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: managedBy},
	}}
}

func TestSliceEventsWakeOnlyForOthersChanges(t *testing.T) {
	f := newFixture(t, newService("web"))
	drain(f.c)

	own := managedSlice("web-1", "web", 1)
	f.c.tracker.wrote("default/web", own)
	f.c.onSliceAdd(own)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("own create: queue %v", got)
	}
	f.c.onSliceAdd(managedSlice("web-2", "web", 1))
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("unknown slice: queue %v", got)
	}
	changed := own.DeepCopy()
	changed.Generation, changed.ResourceVersion = 2, "2"
	f.c.onSliceUpdate(own, changed)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("someone else's update: queue %v", got)
	}
	foreign := own.DeepCopy()
	foreign.Labels[discoveryv1.LabelManagedBy] = "someone"
	f.c.onSliceAdd(foreign)
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("foreign slice: queue %v", got)
	}
	foreign.ResourceVersion = "3"
	f.c.onSliceUpdate(own, foreign)
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("slice taken over: queue %v", got)
	}

	f.c.tracker.deleting("default/web", "web-1")
	f.c.onSliceDelete(cache.DeletedFinalStateUnknown{Key: "default/web-1", Obj: own})
	if got := drain(f.c); len(got) != 0 {
		t.Errorf("own delete: queue %v", got)
	}
	f.c.onSliceDelete(managedSlice("web-2", "web", 1))
	if got := drain(f.c); !slices.Equal(got, []string{"default/web"}) {
		t.Errorf("someone else's delete: queue %v", got)
	}
}
