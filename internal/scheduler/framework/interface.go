package framework

import (
	"context"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Code is a plugin's verdict.
type Code int

const (
	// Success: the node fits (or the step passed).
	Success Code = iota
	// Unschedulable: the node does not fit now; preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit and removing
	// pods would not change that (taints, selectors).
	UnschedulableAndUnresolvable
	// Error: something went wrong.
	Error
	// Skip: a PreFilter or PreScore has nothing to do for this pod; its
	// Filter or Score is not called.
	Skip
)

// Status is a plugin's result: a code and the reasons, in Kubernetes'
// words ("Insufficient cpu", "node(s) didn't match Pod's node
// affinity/selector").
type Status struct {
	Code    Code
	Reasons []string
	Plugin  string
}

// NewStatus returns a status with reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{Code: code, Reasons: reasons}
}

// IsSuccess says the status is nil or Success.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// IsSkip says the status is Skip.
func (s *Status) IsSkip() bool { return s != nil && s.Code == Skip }

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.Reasons, ", ")
}

// CycleState carries data between a plugin's PreFilter and its Filter or
// Score calls within one scheduling cycle. It is safe for the parallel
// Filter calls to read.
type CycleState struct {
	mu sync.RWMutex
	m  map[string]interface{}
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState { return &CycleState{m: map[string]interface{}{}} }

// Write stores data under key.
func (c *CycleState) Write(key string, v interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = v
}

// Read returns the data under key.
func (c *CycleState) Read(key string) (interface{}, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

// Plugin names itself.
type Plugin interface {
	Name() string
}

// PreFilterPlugin computes what its Filter needs once per cycle (from the
// whole snapshot), or rejects the pod outright.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, snap *Snapshot) *Status
}

// FilterPlugin decides whether the pod fits one node. It runs in parallel
// over nodes and must only read shared data.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PreScorePlugin computes what its Score needs once per cycle, given the
// feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo, snap *Snapshot) *Status
}

// ScorePlugin ranks a feasible node; NormalizeScore (if the plugin has one)
// then maps the scores to 0..MaxNodeScore.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is implemented by scores that need all nodes' raw
// scores to normalize.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// NodeScore is a node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// MaxNodeScore is the highest score a plugin gives.
const MaxNodeScore int64 = 100

// WeightedPlugin is a plugin with the weight its scores are multiplied by
// (0 for plugins that do not score).
type WeightedPlugin struct {
	Plugin
	Weight int64
}

// PreFilterExtensions is implemented by PreFilter plugins whose state
// depends on the pods already on nodes (InterPodAffinity,
// PodTopologySpread). Preemption and nominated pods change those pods
// without a new PreFilter: the caller clones the CycleState and tells the
// plugin which pod it added to or removed from node.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, pod *corev1.Pod, added *PodInfo, node *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, pod *corev1.Pod, removed *PodInfo, node *NodeInfo) *Status
}

// StateData is implemented by CycleState values that PreFilterExtensions
// change, so a clone of the state can be changed on its own.
type StateData interface {
	Clone() StateData
}

// Clone returns a copy of the state: values that are StateData are
// cloned, the others shared (plugins only read them).
func (c *CycleState) Clone() *CycleState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := &CycleState{m: make(map[string]interface{}, len(c.m))}
	for k, v := range c.m {
		if d, ok := v.(StateData); ok {
			v = d.Clone()
		}
		out.m[k] = v
	}
	return out
}
