package framework

import (
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
)

// generation numbers every change to any NodeInfo, so that a value a plugin
// cached for (node, Generation) is never mistaken for another state of the
// node: not after the node is deleted and created again, nor for a clone
// that was changed.
var generation atomic.Int64

func nextGeneration() int64 { return generation.Add(1) }

// NewNodeInfo returns the info of a node with no pods.
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	n := &NodeInfo{UsedPorts: map[HostPort]bool{}, ImageStates: map[string]*ImageState{}}
	n.SetNode(node)
	return n
}

// SetNode updates the node object and its allocatable.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.Allocatable = FromList(node.Status.Allocatable)
	n.Generation = nextGeneration()
}

// AddPod accounts a pod assigned to the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if len(pi.RequiredAffinityTerms)+len(pi.PreferredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0 {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.Requested.Add(&pi.Requests)
	n.NonZeroRequested.Add(&pi.NonZeroRequests)
	for _, p := range hostPorts(pi.Pod) {
		n.UsedPorts[p] = true
	}
	n.Generation = nextGeneration()
}

// RemovePod takes a pod off the node; it reports whether the pod was
// there.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) bool {
	idx := -1
	for i, pi := range n.Pods {
		if pi.Pod.UID == pod.UID {
			idx = i
			break
		}
	}
	if idx < 0 {
		return false
	}
	pi := n.Pods[idx]
	n.Pods[idx] = n.Pods[len(n.Pods)-1]
	n.Pods = n.Pods[:len(n.Pods)-1]
	n.PodsWithAffinity = removeInfo(n.PodsWithAffinity, pod)
	n.PodsWithRequiredAntiAffinity = removeInfo(n.PodsWithRequiredAntiAffinity, pod)
	n.Requested.Sub(&pi.Requests)
	n.NonZeroRequested.Sub(&pi.NonZeroRequests)
	for _, p := range hostPorts(pi.Pod) {
		delete(n.UsedPorts, p)
	}
	n.Generation = nextGeneration()
	return true
}

func removeInfo(list []*PodInfo, pod *corev1.Pod) []*PodInfo {
	for i, pi := range list {
		if pi.Pod.UID == pod.UID {
			list[i] = list[len(list)-1]
			return list[:len(list)-1]
		}
	}
	return list
}

// hostPorts lists the host ports a pod's containers claim.
func hostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				proto := string(p.Protocol)
				if proto == "" {
					proto = "TCP"
				}
				out = append(out, HostPort{Protocol: proto, IP: ip, Port: p.HostPort})
			}
		}
	}
	return out
}

// HostPorts is exported for the NodePorts filter.
func HostPorts(pod *corev1.Pod) []HostPort { return hostPorts(pod) }

// Clone returns a copy that can be changed without touching n (for
// preemption's what-if).
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		Node:                         n.Node,
		Requested:                    n.Requested,
		NonZeroRequested:             n.NonZeroRequested,
		Allocatable:                  n.Allocatable,
		Pods:                         append([]*PodInfo(nil), n.Pods...),
		PodsWithAffinity:             append([]*PodInfo(nil), n.PodsWithAffinity...),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...),
		UsedPorts:                    make(map[HostPort]bool, len(n.UsedPorts)),
		ImageStates:                  n.ImageStates,
		Generation:                   n.Generation,
	}
	c.Requested.Scalar = cloneScalar(n.Requested.Scalar)
	c.NonZeroRequested.Scalar = cloneScalar(n.NonZeroRequested.Scalar)
	for k := range n.UsedPorts {
		c.UsedPorts[k] = true
	}
	return c
}

func cloneScalar(m map[corev1.ResourceName]int64) map[corev1.ResourceName]int64 {
	if m == nil {
		return nil
	}
	out := make(map[corev1.ResourceName]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
