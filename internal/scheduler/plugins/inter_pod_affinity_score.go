package plugins

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const affinityPreScoreKey = "PreScore" + InterPodAffinityName

// topologyScores are scores per domain, for each topology key that has
// any; a node scores the sum of its domains'.
type topologyScores struct {
	byKey []*domainCounts
	cache *nodeCache
	snap  *framework.Snapshot
}

// forKey returns the scores of key's domains.
func (s *topologyScores) forKey(key string) *domainCounts {
	for _, c := range s.byKey {
		if c.topo.key == key {
			return c
		}
	}
	c := newDomainCounts(s.cache.topology(key, s.snap))
	s.byKey = append(s.byKey, c)
	return c
}

// PreScore scores topology domains: for each pod matching one of the
// pod's preferred terms, the term's weight (negative for anti-affinity)
// goes to that pod's domain; and for each existing pod with a term the
// pod matches, likewise (required affinity terms weigh 1). It skips when
// nothing scores.
func (pl *interPodAffinity) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	info := podStateOf(state, pod).info
	preferred := len(info.PreferredAffinityTerms)+len(info.PreferredAntiAffinityTerms) > 0
	if !preferred && len(snap.NodesWithAffinity) == 0 {
		return skip()
	}
	pl.cache.sync(snap)
	s := &topologyScores{cache: &pl.cache, snap: snap}
	if preferred {
		pl.scoreIncoming(s, info, snap)
	}
	nsLabels := snap.NamespaceLabels[pod.Namespace]
	for _, n := range snap.NodesWithAffinity {
		pos := pl.cache.position(n)
		for _, p := range n.PodsWithAffinity {
			s.addExisting(p, pod, nsLabels, pos, n)
		}
	}
	if len(s.byKey) == 0 {
		return skip()
	}
	pl.prescore.write(state, affinityPreScoreKey, s)
	return nil
}

// scoreIncoming adds the pod's preferred terms, weighted by the matching
// pods per node (from the cache's counts).
func (pl *interPodAffinity) scoreIncoming(s *topologyScores, info *framework.PodInfo, snap *framework.Snapshot) {
	add := func(terms []framework.WeightedAffinityTerm, sign int64) {
		for _, t := range resolveWeighted(terms, snap.NamespaceLabels) {
			at := t.AffinityTerm
			counts := pl.cache.forSelector(termKey(&at), snap, func(p *framework.PodInfo) bool {
				return at.Matches(p.Pod, nil)
			})
			c := s.forKey(at.TopologyKey)
			for j := range snap.Nodes {
				if k := counts.at(j); k > 0 {
					c.add(c.topo.ids[j], sign*int64(t.Weight)*int64(k))
				}
			}
		}
	}
	add(info.PreferredAffinityTerms, 1)
	add(info.PreferredAntiAffinityTerms, -1)
}

// addExisting adds the terms of existing pod p (on node n at position
// pos) that the pod matches.
func (s *topologyScores) addExisting(p *framework.PodInfo, pod *corev1.Pod, nsLabels labels.Set, pos int, n *framework.NodeInfo) {
	add := func(t *framework.AffinityTerm, weight int64) {
		if t.Matches(pod, nsLabels) {
			c := s.forKey(t.TopologyKey)
			c.add(c.topo.domain(pos, n), weight)
		}
	}
	for i := range p.RequiredAffinityTerms {
		add(&p.RequiredAffinityTerms[i], hardPodAffinityWeight)
	}
	for i := range p.PreferredAffinityTerms {
		add(&p.PreferredAffinityTerms[i].AffinityTerm, int64(p.PreferredAffinityTerms[i].Weight))
	}
	for i := range p.PreferredAntiAffinityTerms {
		add(&p.PreferredAntiAffinityTerms[i].AffinityTerm, -int64(p.PreferredAntiAffinityTerms[i].Weight))
	}
}

// Score sums the scores of the node's domains.
func (pl *interPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := pl.prescore.read(state, affinityPreScoreKey)
	if !ok {
		return 0, missingState(InterPodAffinityName, affinityPreScoreKey)
	}
	pos := s.cache.position(n)
	var sum int64
	for _, c := range s.byKey {
		sum += c.at(c.topo.domain(pos, n))
	}
	return sum, nil
}

// NormalizeScore maps the sums linearly from [lowest, highest] onto
// 0..100 (all 0 when they are equal).
func (pl *interPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	var lowest, highest int64 = math.MaxInt64, math.MinInt64
	for i := range scores {
		lowest = min(lowest, scores[i].Score)
		highest = max(highest, scores[i].Score)
	}
	diff := highest - lowest
	for i := range scores {
		s := 0.0
		if diff > 0 {
			s = float64(framework.MaxNodeScore) * (float64(scores[i].Score-lowest) / float64(diff))
		}
		scores[i].Score = int64(s)
	}
	return nil
}
