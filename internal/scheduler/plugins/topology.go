package plugins

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Domains of nodes without the topology label, or with a value the
// snapshot's nodes did not have.
const (
	noDomain      int32 = -1
	unknownDomain int32 = -2
)

// topology numbers the domains of one topology key (the values of that
// node label) and knows each snapshot node's, so that the hot paths index
// slices rather than hash label strings. A node's domain is re-read only
// when its Node object changes (a label update brings a new one).
type topology struct {
	key     string
	cache   *nodeCache
	nodes   []*corev1.Node // the objects the domains were read from
	ids     []int32        // per snapshot position: domain or noDomain
	values  []string       // domain → label value
	byValue map[string]int32
}

// topology returns the domains of key over snap's nodes, brought up to
// date (PreFilter and PreScore only).
func (c *nodeCache) topology(key string, snap *framework.Snapshot) *topology {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncLocked(snap)
	t := c.topologies[key]
	if t == nil {
		t = &topology{
			key: key, cache: c, byValue: map[string]int32{},
			nodes: make([]*corev1.Node, len(snap.Nodes)), ids: make([]int32, len(snap.Nodes)),
		}
		c.topologies[key] = t
	}
	for i, n := range snap.Nodes {
		if t.nodes[i] != n.Node {
			t.nodes[i] = n.Node
			t.ids[i] = t.intern(n.Node)
		}
	}
	return t
}

// intern returns the node's domain, numbering a new value.
func (t *topology) intern(node *corev1.Node) int32 {
	v, ok := node.Labels[t.key]
	if !ok {
		return noDomain
	}
	id, ok := t.byValue[v]
	if !ok {
		id = int32(len(t.values))
		t.values = append(t.values, v)
		t.byValue[v] = id
	}
	return id
}

// domain returns the domain of the node at position i (−1: outside the
// snapshot); read-only, for Filter and Score.
func (t *topology) domain(i int, n *framework.NodeInfo) int32 {
	if i >= 0 && i < len(t.nodes) && t.nodes[i] == n.Node {
		return t.ids[i]
	}
	v, ok := n.Node.Labels[t.key]
	if !ok {
		return noDomain
	}
	if id, ok := t.byValue[v]; ok {
		return id
	}
	return unknownDomain
}
