// Package framework holds what the scheduler's plugins share: the per-node
// state kept current from informer events (NodeInfo), the cluster snapshot a
// scheduling cycle reads, the plugin interfaces and their results.
package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Resource is a quantity of every schedulable resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the pod count (capacity "pods").
	AllowedPodNumber int64
	// Scalar holds extended resources (example.com/gpu, hugepages-*).
	Scalar map[corev1.ResourceName]int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 *Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
	r.EphemeralStorage += r2.EphemeralStorage
	r.AllowedPodNumber += r2.AllowedPodNumber
	for k, v := range r2.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] += v
	}
}

// Sub subtracts r2 from r.
func (r *Resource) Sub(r2 *Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
	r.EphemeralStorage -= r2.EphemeralStorage
	r.AllowedPodNumber -= r2.AllowedPodNumber
	for k, v := range r2.Scalar {
		if r.Scalar != nil {
			r.Scalar[k] -= v
		}
	}
}

// AffinityTerm is a parsed (anti-)affinity term: which pods, in which
// namespaces, over which topology key.
type AffinityTerm struct {
	Selector          labels.Selector
	Namespaces        map[string]bool
	NamespaceSelector labels.Selector // nil: only Namespaces
	TopologyKey       string
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// PodInfo is a pod with what the plugins need pre-computed.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is the pod's effective request (max of init containers and
	// the sum of app containers, plus overhead).
	Requests Resource
	// NonZeroRequests uses the scheduler's defaults (100m CPU, 200Mi) for
	// containers that request nothing, for scoring.
	NonZeroRequests Resource

	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
}

// HostPort is one (protocol, IP, port) a pod's container claims on its
// node.
type HostPort struct {
	Protocol string
	IP       string
	Port     int32
}

// ImageState is an image on a node, with how many nodes have it.
type ImageState struct {
	Size     int64
	NumNodes int
}

// NodeInfo is one node with the pods assigned to it and their sums. The
// scheduler's cache keeps it current from events; plugins only read it.
type NodeInfo struct {
	Node *corev1.Node
	Pods []*PodInfo
	// PodsWithAffinity and PodsWithRequiredAntiAffinity list the pods
	// that have such terms, for inter-pod affinity.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// Requested sums Requests of the pods; NonZeroRequested their
	// NonZeroRequests.
	Requested        Resource
	NonZeroRequested Resource
	// Allocatable is the node's allocatable resources.
	Allocatable Resource
	UsedPorts   map[HostPort]bool
	// ImageStates maps image names on the node to their state.
	ImageStates map[string]*ImageState
	// Generation changes on every modification; it is unique across all
	// NodeInfos (a clone keeps it until it is changed).
	Generation int64
	// Position is the node's index in the Nodes of the snapshot last
	// built with it (NewSnapshot sets it), so that plugins can keep
	// per-node data in slices. A clone keeps it: check that
	// snap.Nodes[Position] is the node before trusting it.
	Position int
}

// PodKey identifies a pod.
func PodKey(p *corev1.Pod) types.UID { return p.UID }

// Snapshot is the cluster as one scheduling cycle sees it.
type Snapshot struct {
	Nodes []*NodeInfo
	// NodesWithAffinity and NodesWithRequiredAntiAffinity hold the nodes
	// with pods that have such terms (inter-pod affinity needs only those).
	NodesWithAffinity             []*NodeInfo
	NodesWithRequiredAntiAffinity []*NodeInfo
	// NamespaceLabels maps namespace names to their labels, for
	// namespaceSelector in affinity terms.
	NamespaceLabels map[string]labels.Set
	byName          map[string]*NodeInfo
}

// NewSnapshot indexes nodes and sets their Position; build it while no
// cycle reads them.
func NewSnapshot(nodes []*NodeInfo, nsLabels map[string]labels.Set) *Snapshot {
	s := &Snapshot{Nodes: nodes, NamespaceLabels: nsLabels, byName: make(map[string]*NodeInfo, len(nodes))}
	for i, n := range nodes {
		n.Position = i
		s.byName[n.Node.Name] = n
		if len(n.PodsWithAffinity) > 0 {
			s.NodesWithAffinity = append(s.NodesWithAffinity, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) > 0 {
			s.NodesWithRequiredAntiAffinity = append(s.NodesWithRequiredAntiAffinity, n)
		}
	}
	return s
}

// Get returns the node named name, or nil.
func (s *Snapshot) Get(name string) *NodeInfo { return s.byName[name] }
