package plugins

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const spreadPreScoreKey = "PreScore" + PodTopologySpreadName

// spreadScoreState is, per ScheduleAnyway constraint, the matching pods in
// each domain of the feasible nodes, and the weight that evens out
// topologies with few and with many domains.
type spreadScoreState struct {
	constraints []spreadConstraint
	// ignored are the feasible nodes without all topology keys (only when
	// the pod has constraints of its own); they score 0.
	ignored map[string]bool
	// counts[i][d] is the matching pods in domain d of constraint i; −1
	// for domains without feasible nodes. Hostname constraints count per
	// node instead, in Score.
	counts  [][]int64
	weights []float64
	cache   *nodeCache
}

// PreScore counts the matching pods in every domain of a feasible node,
// over all nodes. Pods with neither ScheduleAnyway constraints nor, with
// no constraints at all, a Service or controller to spread with, skip.
func (pl *podTopologySpread) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, feasible []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	if len(feasible) == 0 || len(snap.Nodes) == 0 {
		return skip()
	}
	cs, err := pl.constraints(pod, corev1.ScheduleAnyway, snap)
	if err != nil {
		return status(PodTopologySpreadName, framework.Error, err.Error())
	}
	if len(cs) == 0 {
		return skip()
	}
	// The system defaults spread over hostname even on nodes without a
	// zone; the pod's own constraints need every key.
	requireAll := len(pod.Spec.TopologySpreadConstraints) > 0
	s := &spreadScoreState{constraints: cs, counts: make([][]int64, len(cs)), weights: make([]float64, len(cs)), cache: &pl.cache}
	s.initDomains(feasible, requireAll)
	affinity := podStateOf(state, pod).requiredAffinity()
	for j, n := range snap.Nodes {
		if requireAll && !hasTopologyKeys(j, n, cs) {
			continue
		}
		affinityOK := affinity.matches(n.Node)
		for i := range cs {
			c := &cs[i]
			if c.topologyKey == corev1.LabelHostname {
				continue
			}
			// Only domains of feasible nodes are counted.
			if d := c.topo.ids[j]; d >= 0 && s.counts[i][d] >= 0 && c.includes(pod, n.Node, affinityOK) {
				s.counts[i][d] += int64(c.counts.at(j))
			}
		}
	}
	pl.prescore.write(state, spreadPreScoreKey, s)
	return nil
}

// initDomains finds the domains of the feasible nodes and each
// constraint's weight, log(domains + 2), and brings the per-node counts
// of hostname constraints up to date for Score.
func (s *spreadScoreState) initDomains(feasible []*framework.NodeInfo, requireAll bool) {
	sizes := make([]int, len(s.constraints))
	unlabeled := make([]bool, len(s.constraints))
	for i, c := range s.constraints {
		s.counts[i] = make([]int64, len(c.topo.values))
		for d := range s.counts[i] {
			s.counts[i][d] = -1
		}
	}
	for _, n := range feasible {
		pos := s.cache.position(n)
		if requireAll && !hasTopologyKeys(pos, n, s.constraints) {
			if s.ignored == nil {
				s.ignored = map[string]bool{}
			}
			s.ignored[n.Node.Name] = true
			continue
		}
		for i := range s.constraints {
			c := &s.constraints[i]
			d := c.topo.domain(pos, n)
			switch {
			case c.topologyKey == corev1.LabelHostname:
				c.counts.count(n)
			case d == noDomain:
				// Nodes without the label make one more domain
				// (the empty value), as in kube-scheduler.
				unlabeled[i] = true
			case d >= 0 && s.counts[i][d] < 0:
				s.counts[i][d] = 0
				sizes[i]++
			}
		}
	}
	for i, c := range s.constraints {
		size := sizes[i]
		switch {
		case c.topologyKey == corev1.LabelHostname:
			size = len(feasible) - len(s.ignored)
		case unlabeled[i]:
			size++
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
}

// Score sums, over the constraints whose key the node has, the matching
// pods in its domain times the constraint's weight, plus maxSkew − 1 (so
// a larger maxSkew tolerates more skew); fewer is better.
func (pl *podTopologySpread) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := pl.prescore.read(state, spreadPreScoreKey)
	if !ok {
		return 0, missingState(PodTopologySpreadName, spreadPreScoreKey)
	}
	if len(s.ignored) > 0 && s.ignored[n.Node.Name] {
		return 0, nil
	}
	pos := s.cache.position(n)
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		d := c.topo.domain(pos, n)
		if d == noDomain {
			continue
		}
		var k int64
		switch {
		case c.topologyKey == corev1.LabelHostname:
			k = int64(c.counts.peek(pos, n))
		case d >= 0 && int(d) < len(s.counts[i]):
			k = max(s.counts[i][d], 0)
		}
		score += float64(k)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps the sums onto 0..100 with the fewest pods best:
// 100 × (max + min − score) / max; ignored nodes score 0.
func (pl *podTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, ok := pl.prescore.read(state, spreadPreScoreKey)
	if !ok {
		return missingState(PodTopologySpreadName, spreadPreScoreKey)
	}
	var lowest int64 = math.MaxInt64
	var highest int64
	for i := range scores {
		if s.ignored[scores[i].Name] {
			continue
		}
		lowest = min(lowest, scores[i].Score)
		highest = max(highest, scores[i].Score)
	}
	for i := range scores {
		switch {
		case s.ignored[scores[i].Name]:
			scores[i].Score = 0
		case highest == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (highest + lowest - scores[i].Score) / highest
		}
	}
	return nil
}
