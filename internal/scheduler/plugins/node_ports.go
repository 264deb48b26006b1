package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// errReasonNodePorts is NodePorts' reason.
const errReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"

const nodePortsPreFilterKey = "PreFilter" + NodePortsName

// anyIP is the host IP that binds every address.
const anyIP = "0.0.0.0"

// nodePorts keeps pods off nodes where a host port they claim is taken.
type nodePorts struct {
	prefilter stateSlot[[]framework.HostPort]
}

func (pl *nodePorts) Name() string { return NodePortsName }

// PreFilter lists the host ports the pod claims, skipping pods with none.
func (pl *nodePorts) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ *framework.Snapshot) *framework.Status {
	ports := framework.HostPorts(pod)
	if len(ports) == 0 {
		return skip()
	}
	pl.prefilter.write(state, nodePortsPreFilterKey, ports)
	return nil
}

// Filter rejects the node if any claimed port conflicts with one in use.
func (pl *nodePorts) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	ports, ok := pl.prefilter.read(state, nodePortsPreFilterKey)
	if !ok {
		ports = framework.HostPorts(pod)
	}
	for _, p := range ports {
		if portTaken(n.UsedPorts, p) {
			return status(NodePortsName, framework.Unschedulable, errReasonNodePorts)
		}
	}
	return nil
}

// portTaken says p conflicts with a used port: same protocol and port,
// and the same IP or 0.0.0.0 on either side.
func portTaken(used map[framework.HostPort]bool, p framework.HostPort) bool {
	if len(used) == 0 {
		return false
	}
	if p.IP == anyIP {
		for u := range used {
			if u.Port == p.Port && u.Protocol == p.Protocol {
				return true
			}
		}
		return false
	}
	return used[p] || used[framework.HostPort{Protocol: p.Protocol, IP: anyIP, Port: p.Port}]
}
