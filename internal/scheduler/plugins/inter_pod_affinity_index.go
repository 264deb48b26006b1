package plugins

import (
	"maps"
	"slices"
	"strings"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// antiIndex summarises, per node, the required anti-affinity terms of the
// pods on it: which distinct terms (interned) and how many pods carry
// each. Pods of one workload share their terms, so a cycle matches the
// incoming pod against each distinct term once instead of against every
// existing pod's terms, and a node's summary is recomputed only when the
// node changed. PreFilter only (one cycle at a time).
type antiIndex struct {
	ids   map[string]int32
	terms []*framework.AffinityTerm // by id
	// nodes holds the summaries by snapshot position.
	snap  *framework.Snapshot
	nodes []nodeTerms
}

// nodeTerms is one node's summary as of its generation.
type nodeTerms struct {
	gen     int64
	entries []termCount
}

type termCount struct {
	id    int32
	count int32
}

// maxTerms bounds the interned terms; past it the index starts over
// (terms of pods long gone are not kept forever).
const maxTerms = 4096

// begin starts a cycle: past maxTerms the index starts over.
func (x *antiIndex) begin() {
	if len(x.terms) > maxTerms {
		*x = antiIndex{}
	}
}

// summary returns the node's distinct terms with their counts; pos is
// the node's position in snap (−1: a clone, summarised afresh).
func (x *antiIndex) summary(snap *framework.Snapshot, pos int, n *framework.NodeInfo) []termCount {
	if x.snap != snap {
		x.snap = snap
		x.nodes = make([]nodeTerms, len(snap.Nodes))
		for i := range x.nodes {
			x.nodes[i].gen = -1
		}
	}
	if pos < 0 || pos >= len(x.nodes) {
		return x.count(n, nil)
	}
	nt := &x.nodes[pos]
	if nt.gen != n.Generation {
		nt.entries = x.count(n, nt.entries[:0])
		nt.gen = n.Generation
	}
	return nt.entries
}

func (x *antiIndex) count(n *framework.NodeInfo, out []termCount) []termCount {
	for _, p := range n.PodsWithRequiredAntiAffinity {
		for i := range p.RequiredAntiAffinityTerms {
			id := x.intern(&p.RequiredAntiAffinityTerms[i])
			found := false
			for j := range out {
				if out[j].id == id {
					out[j].count++
					found = true
					break
				}
			}
			if !found {
				out = append(out, termCount{id: id, count: 1})
			}
		}
	}
	return out
}

// intern returns the id of a term: equal terms (selector, namespaces,
// namespace selector, topology key) share one.
func (x *antiIndex) intern(t *framework.AffinityTerm) int32 {
	if x.ids == nil {
		x.ids = map[string]int32{}
	}
	var b strings.Builder
	for _, ns := range slices.Sorted(maps.Keys(t.Namespaces)) {
		b.WriteString(ns)
		b.WriteByte(0)
	}
	b.WriteByte(1)
	if t.NamespaceSelector != nil {
		b.WriteString(selectorKey(t.NamespaceSelector))
	} else {
		b.WriteString("\x00none")
	}
	b.WriteByte(1)
	b.WriteString(selectorKey(t.Selector))
	b.WriteByte(1)
	b.WriteString(t.TopologyKey)
	key := b.String()
	if id, ok := x.ids[key]; ok {
		return id
	}
	id := int32(len(x.terms))
	x.ids[key] = id
	x.terms = append(x.terms, t)
	return id
}
