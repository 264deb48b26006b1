package plugins

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// NodeResourcesFit's reasons; an extended resource's is "Insufficient "
// and its name.
const (
	errReasonTooManyPods     = "Too many pods"
	errReasonInsufficientCPU = "Insufficient cpu"
	errReasonInsufficientMem = "Insufficient memory"
	errReasonInsufficientEph = "Insufficient ephemeral-storage"
	errReasonInsufficient    = "Insufficient "
)

const (
	fitPreFilterKey = "PreFilter" + NodeResourcesFitName
	fitPreScoreKey  = "PreScore" + NodeResourcesFitName
)

// nodeResourcesFit keeps pods off nodes without room for their requests,
// and scores nodes by what would be left free (LeastAllocated over cpu and
// memory, both weighted 1).
type nodeResourcesFit struct {
	prefilter stateSlot[*fitState]
	prescore  stateSlot[cpuMem]
}

func (pl *nodeResourcesFit) Name() string { return NodeResourcesFitName }

// fitState is the pod's request, with its extended resources' names
// sorted so that reasons come in a stable order.
type fitState struct {
	req     *framework.Resource
	scalars []corev1.ResourceName
}

// PreFilter computes the pod's request. Every pod needs a pod slot, so it
// never skips.
func (pl *nodeResourcesFit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) *framework.Status {
	pl.prefilter.write(state, fitPreFilterKey, newFitState(podStateOf(state, pod).info))
	return nil
}

func newFitState(pi *framework.PodInfo) *fitState {
	s := &fitState{req: &pi.Requests}
	for name := range pi.Requests.Scalar {
		s.scalars = append(s.scalars, name)
	}
	slices.Sort(s.scalars)
	return s
}

// Filter lists every resource the node lacks; preemption may free them,
// so the code is Unschedulable.
func (pl *nodeResourcesFit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	s, ok := pl.prefilter.read(state, fitPreFilterKey)
	if !ok {
		s = newFitState(framework.NewPodInfo(pod))
	}
	if reasons := insufficient(s, n); len(reasons) > 0 {
		return status(NodeResourcesFitName, framework.Unschedulable, reasons...)
	}
	return nil
}

// insufficient returns the reasons the request does not fit the node
// (nil when it does): pod count first, then cpu, memory,
// ephemeral-storage and extended resources. Zero requests always fit.
func insufficient(s *fitState, n *framework.NodeInfo) []string {
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.AllowedPodNumber {
		reasons = append(reasons, errReasonTooManyPods)
	}
	req, alloc, used := s.req, &n.Allocatable, &n.Requested
	if req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		reasons = append(reasons, errReasonInsufficientCPU)
	}
	if req.Memory > 0 && req.Memory > alloc.Memory-used.Memory {
		reasons = append(reasons, errReasonInsufficientMem)
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		reasons = append(reasons, errReasonInsufficientEph)
	}
	for _, name := range s.scalars {
		q := req.Scalar[name]
		if q > 0 && q > alloc.Scalar[name]-used.Scalar[name] {
			reasons = append(reasons, errReasonInsufficient+string(name))
		}
	}
	return reasons
}

// cpuMem is a pod's cpu (millicores) and memory request.
type cpuMem struct {
	cpu, mem int64
}

// PreScore keeps the pod's request with the scheduler's defaults for
// containers that request nothing (100m, 200Mi).
func (pl *nodeResourcesFit) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	nz := &podStateOf(state, pod).info.NonZeroRequests
	pl.prescore.write(state, fitPreScoreKey, cpuMem{cpu: nz.MilliCPU, mem: nz.Memory})
	return nil
}

// Score is the mean share of cpu and memory left free once the pod is on
// the node (counting requests with the same defaults), times 100.
func (pl *nodeResourcesFit) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	p, ok := pl.prescore.read(state, fitPreScoreKey)
	if !ok {
		return 0, missingState(NodeResourcesFitName, fitPreScoreKey)
	}
	var sum, weights int64
	if c := n.Allocatable.MilliCPU; c > 0 {
		sum += leastRequested(n.NonZeroRequested.MilliCPU+p.cpu, c)
		weights++
	}
	if c := n.Allocatable.Memory; c > 0 {
		sum += leastRequested(n.NonZeroRequested.Memory+p.mem, c)
		weights++
	}
	if weights == 0 {
		return 0, nil
	}
	return sum / weights, nil
}

// leastRequested is the free share of capacity, 0..MaxNodeScore.
func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}
