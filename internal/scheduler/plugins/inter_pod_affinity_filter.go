package plugins

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const affinityPreFilterKey = "PreFilter" + InterPodAffinityName

// affinityFilterState counts, per topology domain, the existing pods the
// Filter decides by.
type affinityFilterState struct {
	pod *corev1.Pod
	// affinityTerms and antiTerms are the pod's required terms, resolved.
	affinityTerms []framework.AffinityTerm
	antiTerms     []framework.AffinityTerm
	// selfMatch: the pod matches all its own affinity terms.
	selfMatch bool
	nsLabels  labels.Set
	// affinity[i] counts, in the domains of affinity term i, the pods
	// matching all affinity terms; affinityDomains is how many domains
	// of all terms have some.
	affinity        []*domainCounts
	affinityDomains int
	// anti[i] counts the pods matching anti-affinity term i.
	anti []*domainCounts
	// existing counts, per topology key, the existing pods' anti-affinity
	// terms that match the pod.
	existing []*domainCounts
	cache    *nodeCache
}

// Clone copies the counts, which preemption changes.
func (s *affinityFilterState) Clone() framework.StateData {
	c := *s
	c.affinity, c.anti, c.existing = cloneAll(s.affinity), cloneAll(s.anti), cloneAll(s.existing)
	return &c
}

func cloneAll(list []*domainCounts) []*domainCounts {
	out := make([]*domainCounts, len(list))
	for i, c := range list {
		out[i] = c.clone()
	}
	return out
}

// PreFilter counts, over the whole cluster, the pods matching the pod's
// required terms and the existing pods whose required anti-affinity the
// pod would violate. It skips when there are neither.
func (pl *interPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) *framework.Status {
	info := podStateOf(state, pod).info
	if len(info.RequiredAffinityTerms) == 0 && len(info.RequiredAntiAffinityTerms) == 0 && len(snap.NodesWithRequiredAntiAffinity) == 0 {
		return skip()
	}
	pl.cache.sync(snap)
	s := &affinityFilterState{
		pod:           pod,
		affinityTerms: resolveNamespaces(info.RequiredAffinityTerms, snap.NamespaceLabels),
		antiTerms:     resolveNamespaces(info.RequiredAntiAffinityTerms, snap.NamespaceLabels),
		nsLabels:      snap.NamespaceLabels[pod.Namespace],
		cache:         &pl.cache,
	}
	s.selfMatch = matchesAll(s.affinityTerms, pod)
	// Existing pods' anti-affinity, one match per distinct term.
	var matched []int8 // by term id: 0 unknown, 1 matches, -1 does not
	pl.anti.begin()
	for _, n := range snap.NodesWithRequiredAntiAffinity {
		pos := pl.cache.position(n)
		for _, e := range pl.anti.summary(snap, pos, n) {
			if int(e.id) >= len(matched) {
				matched = append(matched, make([]int8, len(pl.anti.terms)-len(matched))...)
			}
			t := pl.anti.terms[e.id]
			if matched[e.id] == 0 {
				matched[e.id] = -1
				if t.Matches(pod, s.nsLabels) {
					matched[e.id] = 1
				}
			}
			if matched[e.id] < 0 {
				continue
			}
			c := s.existingFor(t.TopologyKey, snap)
			c.add(updateDomain(c.topo, pos, n), int64(e.count))
		}
	}
	pl.countIncoming(s, snap)
	if len(s.existing) == 0 && len(s.affinityTerms) == 0 && len(s.antiTerms) == 0 {
		return skip()
	}
	pl.prefilter.write(state, affinityPreFilterKey, s)
	return nil
}

// addExisting counts the anti-affinity terms of p (on node n at position
// pos) that match the pod.
func (s *affinityFilterState) addExisting(p *framework.PodInfo, pos int, n *framework.NodeInfo, snap *framework.Snapshot, delta int64) {
	for i := range p.RequiredAntiAffinityTerms {
		t := &p.RequiredAntiAffinityTerms[i]
		if !t.Matches(s.pod, s.nsLabels) {
			continue
		}
		c := s.existingFor(t.TopologyKey, snap)
		c.add(updateDomain(c.topo, pos, n), delta)
	}
}

// existingFor returns the counts of existing anti-affinity terms over key.
func (s *affinityFilterState) existingFor(key string, snap *framework.Snapshot) *domainCounts {
	for _, c := range s.existing {
		if c.topo.key == key {
			return c
		}
	}
	c := newDomainCounts(s.cache.topology(key, snap))
	s.existing = append(s.existing, c)
	return c
}

// countIncoming counts per domain the pods matching the pod's terms, from
// the cache's per-node counts.
func (pl *interPodAffinity) countIncoming(s *affinityFilterState, snap *framework.Snapshot) {
	if len(s.affinityTerms) > 0 {
		keys := make([]string, len(s.affinityTerms))
		for i := range s.affinityTerms {
			keys[i] = termKey(&s.affinityTerms[i])
			s.affinity = append(s.affinity, newDomainCounts(pl.cache.topology(s.affinityTerms[i].TopologyKey, snap)))
		}
		terms := s.affinityTerms
		all := pl.cache.forSelector("all\x02"+strings.Join(keys, "\x02"), snap, func(p *framework.PodInfo) bool {
			return matchesAll(terms, p.Pod)
		})
		for j := range snap.Nodes {
			if k := all.at(j); k > 0 {
				for _, c := range s.affinity {
					s.affinityDomains += c.add(c.topo.ids[j], int64(k))
				}
			}
		}
	}
	for i := range s.antiTerms {
		t := &s.antiTerms[i]
		c := newDomainCounts(pl.cache.topology(t.TopologyKey, snap))
		s.anti = append(s.anti, c)
		counts := pl.cache.forSelector(termKey(t), snap, func(p *framework.PodInfo) bool {
			return t.Matches(p.Pod, nil)
		})
		for j := range snap.Nodes {
			if k := counts.at(j); k > 0 {
				c.add(c.topo.ids[j], int64(k))
			}
		}
	}
}

// Filter checks, in order, the pod's affinity (every term's domain on the
// node must hold a matching pod, or no pod anywhere matches and the pod
// matches its own terms, so the first of a group can start), its
// anti-affinity, and the existing pods' anti-affinity.
func (pl *interPodAffinity) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	s, ok := pl.prefilter.read(state, affinityPreFilterKey)
	if !ok {
		return missingState(InterPodAffinityName, affinityPreFilterKey)
	}
	pos := s.cache.position(n)
	if !s.satisfiesAffinity(pos, n) {
		return status(InterPodAffinityName, framework.UnschedulableAndUnresolvable, errReasonAffinity)
	}
	if occupied(s.anti, pos, n) {
		return status(InterPodAffinityName, framework.Unschedulable, errReasonAntiAffinity)
	}
	if occupied(s.existing, pos, n) {
		return status(InterPodAffinityName, framework.Unschedulable, errReasonExistingAntiAff)
	}
	return nil
}

func (s *affinityFilterState) satisfiesAffinity(pos int, n *framework.NodeInfo) bool {
	found := true
	for _, c := range s.affinity {
		d := c.topo.domain(pos, n)
		if d == noDomain {
			return false
		}
		if c.at(d) <= 0 {
			found = false
		}
	}
	return found || (s.affinityDomains == 0 && s.selfMatch)
}

// occupied says the node's domain holds a count in any of the counts.
func occupied(list []*domainCounts, pos int, n *framework.NodeInfo) bool {
	for _, c := range list {
		if c.at(c.topo.domain(pos, n)) > 0 {
			return true
		}
	}
	return false
}

// AddPod counts a pod preemption or a nomination put on the node.
func (pl *interPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, added *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if s, ok := pl.prefilter.read(state, affinityPreFilterKey); ok {
		s.update(added, n, 1)
	}
	return nil
}

// RemovePod uncounts a pod preemption takes off the node.
func (pl *interPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, removed *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if s, ok := pl.prefilter.read(state, affinityPreFilterKey); ok {
		s.update(removed, n, -1)
	}
	return nil
}

func (s *affinityFilterState) update(p *framework.PodInfo, n *framework.NodeInfo, delta int64) {
	if n.Node == nil {
		return
	}
	pos := s.cache.position(n)
	s.addExisting(p, pos, n, s.cache.snap, delta)
	if matchesAll(s.affinityTerms, p.Pod) {
		for _, c := range s.affinity {
			s.affinityDomains += c.add(updateDomain(c.topo, pos, n), delta)
		}
	}
	for i, c := range s.anti {
		if s.antiTerms[i].Matches(p.Pod, nil) {
			c.add(updateDomain(c.topo, pos, n), delta)
		}
	}
}
