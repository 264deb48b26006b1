package plugins

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const balancedPreScoreKey = "PreScore" + BalancedAllocationName

// balancedAllocation prefers nodes whose cpu and memory would be used in
// equal shares once the pod is there (NodeResourcesBalancedAllocation).
type balancedAllocation struct {
	prescore stateSlot[cpuMem]
}

func (pl *balancedAllocation) Name() string { return BalancedAllocationName }

// PreScore keeps the pod's actual cpu and memory request (no defaults for
// containers that request nothing, as kube-scheduler v1.32).
func (pl *balancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	r := &podStateOf(state, pod).info.Requests
	pl.prescore.write(state, balancedPreScoreKey, cpuMem{cpu: r.MilliCPU, mem: r.Memory})
	return nil
}

// Score is 100 × (1 − the standard deviation of the requested shares of
// cpu and memory), each share capped at 1; resources the node has none of
// are left out.
func (pl *balancedAllocation) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	p, ok := pl.prescore.read(state, balancedPreScoreKey)
	if !ok {
		return 0, missingState(BalancedAllocationName, balancedPreScoreKey)
	}
	var shares [2]float64
	k := 0
	if c := n.Allocatable.MilliCPU; c > 0 {
		shares[k] = min(float64(n.Requested.MilliCPU+p.cpu)/float64(c), 1)
		k++
	}
	if c := n.Allocatable.Memory; c > 0 {
		shares[k] = min(float64(n.Requested.Memory+p.mem)/float64(c), 1)
		k++
	}
	std := 0.0
	if k == 2 {
		// The standard deviation of two values is half their distance.
		std = math.Abs(shares[0]-shares[1]) / 2
	}
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}
