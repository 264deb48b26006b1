package plugins

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// InterPodAffinity's reasons.
const (
	errReasonAffinity        = "node(s) didn't match pod affinity rules"
	errReasonAntiAffinity    = "node(s) didn't match pod anti-affinity rules"
	errReasonExistingAntiAff = "node(s) didn't satisfy existing pods anti-affinity rules"
	// hardPodAffinityWeight is what an existing pod's required affinity
	// term the pod matches adds to a score.
	hardPodAffinityWeight = 1
)

// interPodAffinity places pods by the pods already on nodes: the pod's
// required affinity and anti-affinity, and existing pods' required
// anti-affinity, filter; preferred terms on both sides (and existing
// pods' required affinity) score.
type interPodAffinity struct {
	cache     nodeCache
	anti      antiIndex
	prefilter stateSlot[*affinityFilterState]
	prescore  stateSlot[*topologyScores]
}

func newInterPodAffinity() *interPodAffinity { return &interPodAffinity{} }

func (*interPodAffinity) Name() string { return InterPodAffinityName }

// domainCounts counts pods (or terms, or weights) per domain of one
// topology.
type domainCounts struct {
	topo   *topology
	counts []int64
}

func newDomainCounts(t *topology) *domainCounts {
	return &domainCounts{topo: t, counts: make([]int64, len(t.values))}
}

// at returns domain d's count (0 for no or an unknown domain).
func (c *domainCounts) at(d int32) int64 {
	if d < 0 || int(d) >= len(c.counts) {
		return 0
	}
	return c.counts[d]
}

// add adds delta to domain d and returns how the number of domains with a
// count other than 0 changed (−1, 0 or 1).
func (c *domainCounts) add(d int32, delta int64) int {
	if d < 0 || delta == 0 {
		return 0
	}
	if int(d) >= len(c.counts) {
		c.counts = append(c.counts, make([]int64, int(d)+1-len(c.counts))...)
	}
	before := c.counts[d]
	c.counts[d] += delta
	switch {
	case before == 0:
		return 1
	case c.counts[d] == 0:
		return -1
	}
	return 0
}

func (c *domainCounts) clone() *domainCounts {
	return &domainCounts{topo: c.topo, counts: slices.Clone(c.counts)}
}

// updateDomain returns the domain of node n at position pos, numbering a
// value new to the topology (preemption only, one cycle at a time).
func updateDomain(t *topology, pos int, n *framework.NodeInfo) int32 {
	d := t.domain(pos, n)
	if d == unknownDomain {
		d = t.intern(n.Node)
	}
	return d
}

// resolveNamespaces turns the terms' namespaceSelectors into namespace
// names from the snapshot, so that matching a pod needs no lookup of its
// namespace's labels. An empty selector (all namespaces) is kept.
func resolveNamespaces(terms []framework.AffinityTerm, nsLabels map[string]labels.Set) []framework.AffinityTerm {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		if t.NamespaceSelector != nil && !t.NamespaceSelector.Empty() {
			ns := maps.Clone(t.Namespaces)
			for name, l := range nsLabels {
				if t.NamespaceSelector.Matches(l) {
					ns[name] = true
				}
			}
			t.Namespaces, t.NamespaceSelector = ns, nil
		}
		out[i] = t
	}
	return out
}

// resolveWeighted is resolveNamespaces for weighted terms.
func resolveWeighted(terms []framework.WeightedAffinityTerm, nsLabels map[string]labels.Set) []framework.WeightedAffinityTerm {
	out := make([]framework.WeightedAffinityTerm, len(terms))
	for i, t := range terms {
		out[i] = framework.WeightedAffinityTerm{AffinityTerm: resolveNamespaces([]framework.AffinityTerm{t.AffinityTerm}, nsLabels)[0], Weight: t.Weight}
	}
	return out
}

// termKey identifies a resolved term's pods, for the pod counter.
func termKey(t *framework.AffinityTerm) string {
	var b strings.Builder
	for _, ns := range slices.Sorted(maps.Keys(t.Namespaces)) {
		b.WriteString(ns)
		b.WriteByte(0)
	}
	if t.NamespaceSelector != nil {
		b.WriteString("\x01all")
	}
	b.WriteByte(1)
	b.WriteString(selectorKey(t.Selector))
	return b.String()
}

// matchesAll says the pod matches every (resolved) term; false for none.
func matchesAll(terms []framework.AffinityTerm, pod *corev1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, nil) {
			return false
		}
	}
	return true
}
