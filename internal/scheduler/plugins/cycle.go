package plugins

import (
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// podStateKey keys the per-cycle data about the pod that several plugins
// share.
const podStateKey = "plugins/pod"

// podState is what the plugins derive from the pod being scheduled, once
// per cycle.
type podState struct {
	info *framework.PodInfo
	// affinity is the parsed nodeSelector and required node affinity;
	// nil until asked for.
	affinity *requiredAffinity
}

// podStateOf returns the cycle's pod state, building it on first use. Call
// it from PreFilter and PreScore only: they run one at a time, while the
// parallel Filter and Score calls must only read.
func podStateOf(state *framework.CycleState, pod *corev1.Pod) *podState {
	if v, ok := state.Read(podStateKey); ok {
		if ps, ok := v.(*podState); ok && ps.info.Pod == pod {
			return ps
		}
	}
	ps := &podState{info: framework.NewPodInfo(pod)}
	state.Write(podStateKey, ps)
	return ps
}

// requiredAffinity returns the pod's parsed nodeSelector and required
// node affinity (PreFilter and PreScore only, as podStateOf).
func (ps *podState) requiredAffinity() *requiredAffinity {
	if ps.affinity == nil {
		ps.affinity = newRequiredAffinity(ps.info.Pod)
	}
	return ps.affinity
}

// status returns a status naming the plugin.
func status(plugin string, code framework.Code, reasons ...string) *framework.Status {
	return &framework.Status{Code: code, Reasons: reasons, Plugin: plugin}
}

// skip is what a PreFilter or PreScore returns when its plugin has
// nothing to do for the pod.
func skip() *framework.Status { return framework.NewStatus(framework.Skip) }

// missingState is the error of a Filter or Score that finds no state from
// its PreFilter or PreScore.
func missingState(plugin, key string) *framework.Status {
	return status(plugin, framework.Error, "no "+key+" state in the cycle: PreFilter/PreScore did not run")
}

// readState reads a cycle value of type T.
func readState[T any](state *framework.CycleState, key string) (T, bool) {
	v, ok := state.Read(key)
	if !ok {
		var zero T
		return zero, false
	}
	t, ok := v.(T)
	return t, ok
}

// normalizeToMax maps scores to 0..MaxNodeScore in proportion to the
// highest; reverse turns the highest into 0 (and all-zero scores into
// MaxNodeScore). kube-scheduler's DefaultNormalizeScore.
func normalizeToMax(scores []framework.NodeScore, reverse bool) {
	var highest int64
	for i := range scores {
		highest = max(highest, scores[i].Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = framework.MaxNodeScore
			}
		}
		return
	}
	for i := range scores {
		s := framework.MaxNodeScore * scores[i].Score / highest
		if reverse {
			s = framework.MaxNodeScore - s
		}
		scores[i].Score = s
	}
}

// stateSlot holds the value a plugin last wrote to a cycle's state, so
// that its parallel Filter or Score calls find it with one atomic load
// instead of hashing the key under the state's lock. Another state (a
// preemption clone, a later cycle) is read from the state itself.
type stateSlot[T any] struct {
	last atomic.Pointer[slotValue[T]]
}

type slotValue[T any] struct {
	state *framework.CycleState
	v     T
}

// write stores v in the state under key and remembers it.
func (s *stateSlot[T]) write(state *framework.CycleState, key string, v T) {
	state.Write(key, v)
	s.last.Store(&slotValue[T]{state: state, v: v})
}

// read returns the value under key.
func (s *stateSlot[T]) read(state *framework.CycleState, key string) (T, bool) {
	if l := s.last.Load(); l != nil && l.state == state {
		return l.v, true
	}
	return readState[T](state, key)
}
