package plugins

import (
	"fmt"
	"testing"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestPodCounter(t *testing.T) {
	snap := cluster(nodes(makeNode("a"), makeNode("b")),
		makePod("w1", on("a"), podLabels("app", "web")), makePod("d1", on("a"), podLabels("app", "db")))
	isWeb := func(p *framework.PodInfo) bool { return p.Pod.Labels["app"] == "web" }
	var c nodeCache
	e := c.forSelector("web", snap, isWeb)
	a, b := snap.Get("a"), snap.Get("b")
	if e.count(a) != 1 || e.count(b) != 0 {
		t.Fatalf("counts %d %d, want 1 0", e.count(a), e.count(b))
	}
	b.AddPod(framework.NewPodInfo(makePod("w2", on("b"), podLabels("app", "web"))))
	if got := e.peek(c.position(b), b); got != 1 {
		t.Errorf("peek after a pod was added: %d, want 1", got)
	}
	if got := e.count(b); got != 1 {
		t.Errorf("count after a pod was added: %d, want 1", got)
	}
	// A clone that changes does not share the original's count.
	clone := a.Clone()
	clone.RemovePod(a.Pods[0].Pod)
	if e.count(clone) != 0 || e.count(a) != 1 {
		t.Errorf("clone %d, original %d; want 0 and 1", e.count(clone), e.count(a))
	}
	if c.forSelector("web", snap, isWeb) != e {
		t.Error("the same key gave other counts")
	}
	// A new snapshot, in another order, is counted afresh.
	snap2 := framework.NewSnapshot([]*framework.NodeInfo{b, a}, nil)
	e2 := c.forSelector("web", snap2, isWeb)
	if e2.at(0) != 1 || e2.at(1) != 1 || e2.count(a) != 1 {
		t.Errorf("counts over the new snapshot: %d %d", e2.at(0), e2.at(1))
	}
	big := &framework.Snapshot{Nodes: make([]*framework.NodeInfo, countCells/minCountEntries)}
	for i := range minCountEntries + 5 {
		c.forSelector(fmt.Sprint("other", i), big, isWeb)
	}
	if len(c.entries) > minCountEntries {
		t.Errorf("%d entries kept, at most %d", len(c.entries), minCountEntries)
	}
}
