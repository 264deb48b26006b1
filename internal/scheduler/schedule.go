package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Adaptive share of nodes searched before scoring, as kube-scheduler: 50 %
// minus 1 % per 125 nodes, at least 5 %, and never fewer than 100 nodes.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// fitError says why no node fits: the reasons per node, or what a
// PreFilter rejected the pod for.
type fitError struct {
	numNodes      int
	statuses      map[string]*framework.Status
	preFilterMsg  string
	postFilterMsg string
}

// Error is the message users read, in kube-scheduler's words:
// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
// taint {dedicated: gpu}. preemption: ...".
func (e *fitError) Error() string {
	if e.numNodes == 0 && e.preFilterMsg == "" {
		msg := "no nodes available to schedule pods"
		return msg
	}
	msg := fmt.Sprintf("0/%d nodes are available:", e.numNodes)
	if e.preFilterMsg != "" {
		msg += " " + e.preFilterMsg + "."
	} else if h := histogram(e.statuses); h != "" {
		msg += " " + h + "."
	}
	if e.postFilterMsg != "" {
		msg += " " + e.postFilterMsg
	}
	return msg
}

// histogram counts nodes per reason: "1 Insufficient cpu, 2 node(s) ...",
// sorted.
func histogram(statuses map[string]*framework.Status) string {
	counts := map[string]int{}
	for _, st := range statuses {
		for _, r := range st.Reasons {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// numFeasibleNodesToFind is how many feasible nodes are enough to score.
func (s *Scheduler) numFeasibleNodesToFind(all int) int {
	if all < minFeasibleNodesToFind {
		return all
	}
	pct := s.cfg.PercentageOfNodesToScore
	if pct == 0 {
		pct = int32(50 - all/125)
		if pct < minFeasibleNodesPercentageToFind {
			pct = minFeasibleNodesPercentageToFind
		}
	}
	if pct >= 100 {
		return all
	}
	n := all * int(pct) / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// schedulePod picks the node for pod. It returns a fitError when no node
// fits, and an error when a plugin failed.
func (s *Scheduler) schedulePod(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) (string, *fitError, error) {
	nodes := snap.Nodes
	if len(nodes) == 0 {
		return "", &fitError{}, nil
	}
	filters, fe, err := s.runPreFilters(ctx, state, pod, snap)
	if err != nil || fe != nil {
		return "", fe, err
	}
	// A node the pod was nominated to by preemption is tried first.
	if name := pod.Status.NominatedNodeName; name != "" {
		if n := snap.Get(name); n != nil {
			if st := s.runFilters(ctx, state, pod, n, filters); st.IsSuccess() {
				return name, nil, nil
			}
		}
	}
	feasible, statuses, err := s.findFeasible(ctx, state, pod, nodes, filters)
	if err != nil {
		return "", nil, err
	}
	if len(feasible) == 0 {
		return "", &fitError{numNodes: len(nodes), statuses: statuses}, nil
	}
	if len(feasible) == 1 {
		return feasible[0].Node.Name, nil, nil
	}
	return s.selectHost(ctx, state, pod, feasible, snap)
}

// runPreFilters runs the PreFilter plugins and returns the filters that
// apply to this pod (those whose PreFilter did not skip).
func (s *Scheduler) runPreFilters(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, snap *framework.Snapshot) ([]framework.FilterPlugin, *fitError, error) {
	var skip map[string]bool
	for _, pl := range s.preFilters {
		st := pl.PreFilter(ctx, state, pod, snap)
		switch {
		case st.IsSkip():
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
		case st.IsSuccess():
		case st.Code == framework.Error:
			return nil, nil, fmt.Errorf("running PreFilter plugin %q: %s", pl.Name(), st.Message())
		default:
			return nil, &fitError{numNodes: len(snap.Nodes), preFilterMsg: st.Message()}, nil
		}
	}
	if skip == nil {
		return s.filters, nil, nil
	}
	filters := make([]framework.FilterPlugin, 0, len(s.filters))
	for _, f := range s.filters {
		if !skip[f.Name()] {
			filters = append(filters, f)
		}
	}
	return filters, nil, nil
}

// runFilters runs the filters on one node, counting the pods nominated to
// it that have at least the pod's priority as if they were there.
func (s *Scheduler) runFilters(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo, filters []framework.FilterPlugin) *framework.Status {
	if s.queue.HasNominated() {
		if noms := s.queue.NominatedPods(n.Node.Name, priority(pod), pod.UID); len(noms) > 0 {
			n = n.Clone()
			state = state.Clone()
			for _, p := range noms {
				pi := framework.NewPodInfo(p)
				n.AddPod(pi)
				// Affinity and spread counted pods in PreFilter: tell
				// them about this one.
				for _, pf := range s.preFilters {
					if ext, ok := pf.(framework.PreFilterExtensions); ok && active(filters, pf.Name()) {
						if st := ext.AddPod(ctx, state, pod, pi, n); !st.IsSuccess() {
							return st
						}
					}
				}
			}
		}
	}
	for _, f := range filters {
		if st := f.Filter(ctx, state, pod, n); !st.IsSuccess() {
			if st.Plugin == "" {
				st.Plugin = f.Name()
			}
			return st
		}
	}
	return nil
}

func active(filters []framework.FilterPlugin, name string) bool {
	for _, f := range filters {
		if f.Name() == name {
			return true
		}
	}
	return false
}

// findFeasible filters nodes in parallel, starting where the last cycle
// stopped, until it has enough feasible ones.
func (s *Scheduler) findFeasible(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo, filters []framework.FilterPlugin) ([]*framework.NodeInfo, map[string]*framework.Status, error) {
	want := s.numFeasibleNodesToFind(len(nodes))
	start := s.nextStart % len(nodes)
	if len(filters) == 0 {
		out := make([]*framework.NodeInfo, 0, want)
		for i := 0; i < want; i++ {
			out = append(out, nodes[(start+i)%len(nodes)])
		}
		s.nextStart = (start + want) % len(nodes)
		return out, nil, nil
	}
	feasible := make([]*framework.NodeInfo, want)
	statuses := make([]*framework.Status, len(nodes))
	var found, processed atomic.Int32
	var errMu sync.Mutex
	var firstErr error
	s.parallel(len(nodes), func(i int) bool {
		if int(found.Load()) >= want {
			return false
		}
		n := nodes[(start+i)%len(nodes)]
		st := s.runFilters(ctx, state, pod, n, filters)
		processed.Add(1)
		if st.IsSuccess() {
			if k := int(found.Add(1)); k <= want {
				feasible[k-1] = n
			}
			return true
		}
		if st.Code == framework.Error {
			errMu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("running Filter plugin %q: %s", st.Plugin, st.Message())
			}
			errMu.Unlock()
			return false
		}
		statuses[(start+i)%len(nodes)] = st
		return true
	})
	if firstErr != nil {
		return nil, nil, firstErr
	}
	s.nextStart = (start + int(processed.Load())) % len(nodes)
	k := min(int(found.Load()), want)
	feasible = feasible[:k]
	if k > 0 {
		return feasible, nil, nil
	}
	m := make(map[string]*framework.Status, len(nodes))
	for i, st := range statuses {
		if st != nil {
			m[nodes[i].Node.Name] = st
		}
	}
	return nil, m, nil
}

// parallel calls fn(i) for i in [0,n) over cfg.Parallelism goroutines, in
// chunks; fn returning false stops the work early.
func (s *Scheduler) parallel(n int, fn func(i int) bool) {
	const chunk = 32
	workers := min(s.cfg.Parallelism, (n+chunk-1)/chunk)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if !fn(i) {
				return
			}
		}
		return
	}
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for !stop.Load() {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					if !fn(i) {
						stop.Store(true)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// selectHost scores the feasible nodes and picks the best, breaking ties
// at random.
func (s *Scheduler) selectHost(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, feasible []*framework.NodeInfo, snap *framework.Snapshot) (string, *fitError, error) {
	var skip map[string]bool
	for _, pl := range s.preScores {
		st := pl.PreScore(ctx, state, pod, feasible, snap)
		switch {
		case st.IsSkip():
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
		case !st.IsSuccess():
			return "", nil, fmt.Errorf("running PreScore plugin %q: %s", pl.Name(), st.Message())
		}
	}
	scorers := make([]weightedScore, 0, len(s.scores))
	for _, sc := range s.scores {
		if !skip[sc.Name()] {
			scorers = append(scorers, sc)
		}
	}
	total := make([]int64, len(feasible))
	if len(scorers) > 0 {
		scores := make([][]framework.NodeScore, len(scorers))
		for j := range scorers {
			scores[j] = make([]framework.NodeScore, len(feasible))
		}
		var errMu sync.Mutex
		var firstErr error
		s.parallel(len(feasible), func(i int) bool {
			n := feasible[i]
			for j, sc := range scorers {
				v, st := sc.Score(ctx, state, pod, n)
				if !st.IsSuccess() {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("running Score plugin %q: %s", sc.Name(), st.Message())
					}
					errMu.Unlock()
					return false
				}
				scores[j][i] = framework.NodeScore{Name: n.Node.Name, Score: v}
			}
			return true
		})
		if firstErr != nil {
			return "", nil, firstErr
		}
		for j, sc := range scorers {
			if norm, ok := sc.ScorePlugin.(framework.ScoreNormalizer); ok {
				if st := norm.NormalizeScore(ctx, state, pod, scores[j]); !st.IsSuccess() {
					return "", nil, fmt.Errorf("normalizing scores of %q: %s", sc.Name(), st.Message())
				}
			}
			for i := range feasible {
				total[i] += scores[j][i].Score * sc.weight
			}
		}
	}
	best, ties := 0, 1
	for i := 1; i < len(total); i++ {
		switch {
		case total[i] > total[best]:
			best, ties = i, 1
		case total[i] == total[best]:
			ties++
			if s.rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return feasible[best].Node.Name, nil, nil
}

// patchStatus sets the PodScheduled=False condition and the nominated
// node with a strategic merge patch of the status subresource.
func (s *Scheduler) patchStatus(ctx context.Context, pod *corev1.Pod, reason, msg, nominated string) error {
	status := map[string]interface{}{
		"conditions": []interface{}{map[string]interface{}{
			"type": corev1.PodScheduled, "status": corev1.ConditionFalse, "reason": reason, "message": msg,
			"lastProbeTime": nil, "lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
		}},
	}
	if c := podScheduledCondition(pod); c != nil && c.Status == corev1.ConditionFalse {
		// Keep the transition time: the condition did not change status.
		cond := status["conditions"].([]interface{})[0].(map[string]interface{})
		cond["lastTransitionTime"] = c.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z")
	}
	if nominated != "" {
		status["nominatedNodeName"] = nominated
	}
	patch, err := json.Marshal(map[string]interface{}{"status": status})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
