package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// errReasonNodeName is NodeName's reason.
const errReasonNodeName = "node(s) didn't match the requested node name"

// nodeName keeps a pod that names a node (spec.nodeName) off the others.
type nodeName struct{}

func (nodeName) Name() string { return NodeNameName }

// Filter passes every node when the pod names none, else only that one.
func (nodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == n.Node.Name {
		return nil
	}
	return status(NodeNameName, framework.UnschedulableAndUnresolvable, errReasonNodeName)
}
