package garbagecollector

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// node is what the collector knows of one object.
type node struct {
	gvr             schema.GroupVersionResource
	namespace, name string
	uid             types.UID
	resourceVersion string
	owners          []metav1.OwnerReference
	finalizers      []string
	deleting        bool
}

func (n *node) hasFinalizer(f string) bool {
	for _, x := range n.finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// graph indexes objects by UID and dependents by their owners' UIDs.
type graph struct {
	mu         sync.RWMutex
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]struct{}
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]*node{}, dependents: map[types.UID]map[types.UID]struct{}{}}
}

// upsert records n and returns the previous record, if any.
func (g *graph) upsert(n *node) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.nodes[n.uid]
	if old != nil {
		for _, o := range old.owners {
			g.unlinkLocked(o.UID, n.uid)
		}
	}
	g.nodes[n.uid] = n
	for _, o := range n.owners {
		set := g.dependents[o.UID]
		if set == nil {
			set = map[types.UID]struct{}{}
			g.dependents[o.UID] = set
		}
		set[n.uid] = struct{}{}
	}
	return old
}

func (g *graph) unlinkLocked(owner, dep types.UID) {
	if set := g.dependents[owner]; set != nil {
		delete(set, dep)
		if len(set) == 0 {
			delete(g.dependents, owner)
		}
	}
}

// remove forgets uid and returns what it was.
func (g *graph) remove(uid types.UID) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.nodes[uid]
	if n == nil {
		return nil
	}
	for _, o := range n.owners {
		g.unlinkLocked(o.UID, uid)
	}
	delete(g.nodes, uid)
	return n
}

func (g *graph) get(uid types.UID) *node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.nodes[uid]
}

// dependentsOf returns the known dependents of owner.
func (g *graph) dependentsOf(owner types.UID) []*node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []*node
	for uid := range g.dependents[owner] {
		if n := g.nodes[uid]; n != nil {
			out = append(out, n)
		}
	}
	return out
}
