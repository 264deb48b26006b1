package plugins

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const spreadPreFilterKey = "PreFilter" + PodTopologySpreadName

// spreadFilterState is, per DoNotSchedule constraint, the number of
// matching pods in each domain and the smallest of them.
type spreadFilterState struct {
	constraints []spreadConstraint
	// counts[i][d] is the number of matching pods in domain d of
	// constraint i; −1 for a domain without eligible nodes.
	counts [][]int
	// domains[i] is the number of eligible domains of constraint i.
	domains []int
	// minMatch[i] is the fewest matching pods in an eligible domain.
	minMatch []int
	affinity *requiredAffinity
	cache    *nodeCache
}

// Clone copies the counts, which preemption changes; the constraints are
// shared.
func (s *spreadFilterState) Clone() framework.StateData {
	c := *s
	c.counts = make([][]int, len(s.counts))
	for i := range s.counts {
		c.counts[i] = slices.Clone(s.counts[i])
	}
	c.domains, c.minMatch = slices.Clone(s.domains), slices.Clone(s.minMatch)
	return &c
}

// PreFilter counts the pods each DoNotSchedule constraint selects in each
// domain, over the nodes that have all the constraints' topology keys and
// pass the node inclusion policies. Pods without such constraints skip.
func (pl *podTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) *framework.Status {
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		return skip()
	}
	cs, err := pl.constraints(pod, corev1.DoNotSchedule, snap)
	if err != nil {
		return status(PodTopologySpreadName, framework.Error, err.Error())
	}
	if len(cs) == 0 {
		return skip()
	}
	s := &spreadFilterState{
		constraints: cs, counts: make([][]int, len(cs)), domains: make([]int, len(cs)), minMatch: make([]int, len(cs)),
		affinity: podStateOf(state, pod).requiredAffinity(), cache: &pl.cache,
	}
	for i := range cs {
		s.counts[i] = make([]int, len(cs[i].topo.values))
		for d := range s.counts[i] {
			s.counts[i][d] = -1
		}
	}
	for j, n := range snap.Nodes {
		if !hasTopologyKeys(j, n, cs) {
			continue
		}
		affinityOK := s.affinity.matches(n.Node)
		for i := range cs {
			if c := &cs[i]; c.includes(pod, n.Node, affinityOK) {
				s.add(i, c.topo.ids[j], c.counts.at(j))
			}
		}
	}
	for i := range cs {
		s.updateMin(i)
	}
	pl.prefilter.write(state, spreadPreFilterKey, s)
	return nil
}

// add counts k pods into domain d of constraint i, making it eligible.
func (s *spreadFilterState) add(i int, d int32, k int) {
	if int(d) >= len(s.counts[i]) {
		grown := make([]int, d+1)
		copy(grown, s.counts[i])
		for x := len(s.counts[i]); x < len(grown); x++ {
			grown[x] = -1
		}
		s.counts[i] = grown
	}
	if s.counts[i][d] < 0 {
		s.counts[i][d] = 0
		s.domains[i]++
	}
	s.counts[i][d] += k
}

// updateMin recomputes the fewest matching pods in an eligible domain of
// constraint i (0 when it has none).
func (s *spreadFilterState) updateMin(i int) {
	fewest, first := 0, true
	for _, k := range s.counts[i] {
		if k >= 0 && (first || k < fewest) {
			fewest, first = k, false
		}
	}
	s.minMatch[i] = fewest
}

// Filter rejects a node lacking a constraint's topology key, or where the
// pod would make its domain exceed the fewest by more than maxSkew. With
// fewer domains than minDomains the fewest counts as 0.
func (pl *podTopologySpread) Filter(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	s, ok := pl.prefilter.read(state, spreadPreFilterKey)
	if !ok {
		return missingState(PodTopologySpreadName, spreadPreFilterKey)
	}
	pos := s.cache.position(n)
	for i := range s.constraints {
		c := &s.constraints[i]
		d := c.topo.domain(pos, n)
		if d == noDomain {
			return status(PodTopologySpreadName, framework.UnschedulableAndUnresolvable, errReasonSpreadMissingLabel)
		}
		fewest := s.minMatch[i]
		if s.domains[i] < int(c.minDomains) {
			fewest = 0
		}
		k := 0
		if d >= 0 && int(d) < len(s.counts[i]) {
			k = max(s.counts[i][d], 0)
		}
		if k+c.selfMatch-fewest > int(c.maxSkew) {
			return status(PodTopologySpreadName, framework.Unschedulable, errReasonSpread)
		}
	}
	return nil
}

// AddPod counts a pod preemption or a nomination put on the node.
func (pl *podTopologySpread) AddPod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, added *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, added.Pod, n, 1)
}

// RemovePod uncounts a pod preemption takes off the node.
func (pl *podTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, pod *corev1.Pod, removed *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	return pl.update(state, pod, removed.Pod, n, -1)
}

// update runs in preemption, one cycle at a time like PreFilter: it may
// number a domain new to the topology.
func (pl *podTopologySpread) update(state *framework.CycleState, pod, changed *corev1.Pod, n *framework.NodeInfo, delta int) *framework.Status {
	s, ok := pl.prefilter.read(state, spreadPreFilterKey)
	if !ok || changed.Namespace != pod.Namespace || n.Node == nil {
		return nil
	}
	pos := s.cache.position(n)
	if !hasTopologyKeys(pos, n, s.constraints) {
		return nil
	}
	affinityOK := s.affinity.matches(n.Node)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.selector.Matches(labels.Set(changed.Labels)) || !c.includes(pod, n.Node, affinityOK) {
			continue
		}
		d := c.topo.domain(pos, n)
		if d == unknownDomain {
			d = c.topo.intern(n.Node)
		}
		s.add(i, d, delta)
		s.updateMin(i)
	}
	return nil
}
