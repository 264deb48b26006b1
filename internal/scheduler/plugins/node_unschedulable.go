package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// errReasonUnschedulable is NodeUnschedulable's reason.
const errReasonUnschedulable = "node(s) were unschedulable"

// unschedulableTaint is what a cordoned node is treated as having: a pod
// that tolerates it may go there anyway.
var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// nodeUnschedulable rejects cordoned nodes (spec.unschedulable).
type nodeUnschedulable struct{}

func (nodeUnschedulable) Name() string { return NodeUnschedulableName }

// Filter rejects a cordoned node unless the pod tolerates
// node.kubernetes.io/unschedulable:NoSchedule.
func (nodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if !n.Node.Spec.Unschedulable || tolerated(pod.Spec.Tolerations, &unschedulableTaint) {
		return nil
	}
	return status(NodeUnschedulableName, framework.UnschedulableAndUnresolvable, errReasonUnschedulable)
}
