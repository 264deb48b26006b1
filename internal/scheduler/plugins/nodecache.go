package plugins

import (
	"sync"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// A nodeCache remembers at most countCells (node, selector) counts, about
// 12 MiB: 1000 selectors over 1000 nodes. It keeps at least
// minCountEntries selectors and at most maxCountEntries.
const (
	countCells      = 1 << 20
	minCountEntries = 64
	maxCountEntries = 4096
)

// countEntries is how many selectors a nodeCache remembers in a cluster
// of numNodes.
func countEntries(numNodes int) int {
	return min(max(countCells/max(numNodes, 1), minCountEntries), maxCountEntries)
}

// nodeCache is what PodTopologySpread and InterPodAffinity remember
// between cycles about the snapshot's nodes (by their positions in it):
// their topology domains (topology.go) and how many of their pods match
// the selectors in use.
//
// It remembers, per selector of pods and per node, how many of
// the node's pods match, for as long as the node does not change
// (NodeInfo.Generation is unique across nodes and changes). Spreading and
// inter-pod affinity count matching pods on every node in every cycle;
// between two cycles only the nodes that got or lost pods have changed, so
// most counts carry over and a cycle costs a comparison per node rather
// than a selector match per pod.
//
// Counts are kept in arrays that follow the order of the snapshot's
// nodes; the scheduler keeps its snapshot until nodes come or go, and a
// new one costs one recount per selector.
//
// Counts are refreshed by at and count, from PreFilter and PreScore,
// which the scheduler runs one cycle at a time; peek only reads, and may
// run in the parallel Filter and Score calls of the same cycle.
type nodeCache struct {
	mu      sync.Mutex
	tick    int64
	entries map[string]*podCounts
	// snap is the snapshot last used.
	snap       *framework.Snapshot
	topologies map[string]*topology
}

// sync follows snap, before a PreFilter or PreScore uses positions.
func (c *nodeCache) sync(snap *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncLocked(snap)
}

// syncLocked follows a new snapshot: domains are rebuilt, counts
// realigned as they are used.
func (c *nodeCache) syncLocked(snap *framework.Snapshot) {
	if c.snap == snap {
		return
	}
	c.snap = snap
	c.topologies = map[string]*topology{}
}

// position returns the node's position in the snapshot last used, or -1
// for a node outside it (a clone). Safe in Filter and Score.
func (c *nodeCache) position(n *framework.NodeInfo) int {
	return positionIn(c.snap, n)
}

// positionIn returns the node's position in snap, or -1.
func positionIn(snap *framework.Snapshot, n *framework.NodeInfo) int {
	if snap != nil && n.Position >= 0 && n.Position < len(snap.Nodes) && snap.Nodes[n.Position] == n {
		return n.Position
	}
	return -1
}

// podCounts are one selector's counts over one snapshot's nodes.
type podCounts struct {
	match    func(*framework.PodInfo) bool
	snap     *framework.Snapshot
	gens     []int64
	counts   []int32
	lastUsed int64
}

// forSelector returns the counts of the pods match selects on snap's
// nodes, remembered under key; key must identify match (same key, same
// pods selected).
func (c *nodeCache) forSelector(key string, snap *framework.Snapshot, match func(*framework.PodInfo) bool) *podCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	c.syncLocked(snap)
	if c.entries == nil {
		c.entries = map[string]*podCounts{}
	}
	e := c.entries[key]
	if e == nil {
		for len(c.entries) >= countEntries(len(snap.Nodes)) {
			c.evictLocked()
		}
		e = &podCounts{match: match}
		c.entries[key] = e
	}
	if e.snap != snap {
		e.snap = snap
		e.gens, e.counts = make([]int64, len(snap.Nodes)), make([]int32, len(snap.Nodes))
		for i := range e.gens {
			e.gens[i] = -1
		}
	}
	e.lastUsed = c.tick
	return e
}

// selectorKey identifies a label selector for forSelector's key: its
// string, except that selecting nothing differs from selecting everything
// (both print as "").
func selectorKey(sel labels.Selector) string {
	if _, ok := sel.Requirements(); !ok {
		return "\x00nothing"
	}
	return sel.String()
}

// evictLocked drops the least recently used selector.
func (c *nodeCache) evictLocked() {
	var oldest string
	var at int64 = -1
	for k, e := range c.entries {
		if at < 0 || e.lastUsed < at {
			oldest, at = k, e.lastUsed
		}
	}
	delete(c.entries, oldest)
}

// at returns how many pods on the snapshot's node i match, refreshing the
// remembered count if the node changed.
func (e *podCounts) at(i int) int {
	n := e.snap.Nodes[i]
	if e.gens[i] != n.Generation {
		e.counts[i] = int32(e.countNow(n))
		e.gens[i] = n.Generation
	}
	return int(e.counts[i])
}

// count is at for a node given by pointer; nodes outside the snapshot
// (clones) are counted afresh.
func (e *podCounts) count(n *framework.NodeInfo) int {
	if i := positionIn(e.snap, n); i >= 0 {
		return e.at(i)
	}
	return e.countNow(n)
}

// peek is count without remembering, for the node at position i (−1:
// outside the snapshot): safe beside other peeks.
func (e *podCounts) peek(i int, n *framework.NodeInfo) int {
	if i >= 0 && i < len(e.gens) && e.snap.Nodes[i] == n && e.gens[i] == n.Generation {
		return int(e.counts[i])
	}
	return e.countNow(n)
}

func (e *podCounts) countNow(n *framework.NodeInfo) int {
	k := 0
	for _, p := range n.Pods {
		if e.match(p) {
			k++
		}
	}
	return k
}
