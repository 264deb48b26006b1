package plugins

import (
	"context"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestDefault(t *testing.T) {
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	plugins := Default(Args{Factory: factory})
	want := []struct {
		name   string
		weight int64
	}{
		{"NodeUnschedulable", 0}, {"NodeName", 0}, {"TaintToleration", 3}, {"NodeAffinity", 2}, {"NodePorts", 0},
		{"NodeResourcesFit", 1}, {"VolumeBinding", 0}, {"PodTopologySpread", 2}, {"InterPodAffinity", 2},
		{"NodeResourcesBalancedAllocation", 1}, {"ImageLocality", 1},
	}
	if len(plugins) != len(want) {
		t.Fatalf("%d plugins, want %d", len(plugins), len(want))
	}
	for i, w := range want {
		p := plugins[i]
		if p.Name() != w.name || p.Weight != w.weight {
			t.Errorf("plugin %d is %s weight %d, want %s weight %d", i, p.Name(), p.Weight, w.name, w.weight)
		}
		_, scores := p.Plugin.(framework.ScorePlugin)
		if scores != (w.weight > 0) {
			t.Errorf("%s: scores %v with weight %d", w.name, scores, w.weight)
		}
	}
	// The listers' informers are registered with the factory.
	started := factory.WaitForCacheSync(nil)
	if len(started) != 0 {
		t.Errorf("informers started before the factory: %v", started)
	}
	var n int
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	for _, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if ok {
			n++
		}
	}
	if n != 7 {
		t.Errorf("%d informers synced, want 7 (claims, volumes, classes, services, controllers, replica sets, stateful sets)", n)
	}
	cancel()
	factory.Shutdown()
}

func TestDefaultWithoutFactory(t *testing.T) {
	plugins := Default(Args{})
	snap := cluster(nodes(makeNode("a")))
	for _, p := range plugins {
		if f, ok := p.Plugin.(framework.FilterPlugin); ok {
			runFilter(t, f, makePod("p"), snap)
		}
		if s, ok := p.Plugin.(framework.ScorePlugin); ok {
			runScore(t, s, makePod("p"), snap)
		}
	}
}
