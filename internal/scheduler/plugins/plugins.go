// Package plugins holds the scheduler's filter and score plugins: the
// defaults of kube-scheduler v1.32 under the same names, rejecting nodes for
// the same reasons in the same words and scoring them as it does.
//
// The plugins follow the framework's rules: whatever depends on the pod or
// on the whole cluster is computed once per cycle in PreFilter or PreScore
// and kept in the CycleState, so that Filter and Score, which run in
// parallel over nodes, only read and seldom allocate. A plugin with nothing
// to do for a pod returns Skip from its PreFilter or PreScore.
// PodTopologySpread and InterPodAffinity remember per-node counts of
// matching pods between cycles (nodecache.go), so that a cycle over a
// large cluster costs a comparison per node rather than a match per pod.
//
// Where this differs from kube-scheduler: VolumeBinding checks that an
// unbound claim waiting for its pod can be served on a node (a fitting
// volume there, or a class that provisions there) but neither binds nor
// provisions (the volume controller does, once the pod has a node), and
// counts a claim as bound once it names its volume; preferred node
// affinity terms that do not parse are ignored rather than failing the
// pod; there are no plugin arguments (the defaults apply).
package plugins

import (
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Plugin names, as kube-scheduler's.
const (
	NodeUnschedulableName  = "NodeUnschedulable"
	NodeNameName           = "NodeName"
	TaintTolerationName    = "TaintToleration"
	NodeAffinityName       = "NodeAffinity"
	NodePortsName          = "NodePorts"
	NodeResourcesFitName   = "NodeResourcesFit"
	VolumeBindingName      = "VolumeBinding"
	PodTopologySpreadName  = "PodTopologySpread"
	InterPodAffinityName   = "InterPodAffinity"
	BalancedAllocationName = "NodeResourcesBalancedAllocation"
	ImageLocalityName      = "ImageLocality"
)

// Args is what the plugins need from outside the snapshot.
type Args struct {
	// Factory supplies the listers: PersistentVolumeClaims,
	// PersistentVolumes and StorageClasses for VolumeBinding; Services,
	// ReplicationControllers, ReplicaSets and StatefulSets for
	// PodTopologySpread's default constraints. Default registers those
	// informers; the caller starts the factory and waits for it to sync.
	// Nil: no default spreading, and pods with claims are refused.
	Factory informers.SharedInformerFactory
}

// Default returns kube-scheduler's default plugins in its order (the order
// filters run in) with its score weights.
func Default(args Args) []framework.WeightedPlugin {
	var vl volumeListers
	var ol ownerListers
	if f := args.Factory; f != nil {
		vl = volumeListers{
			claims:  f.Core().V1().PersistentVolumeClaims().Lister(),
			volumes: f.Core().V1().PersistentVolumes().Lister(),
			classes: f.Storage().V1().StorageClasses().Lister(),
		}
		ol = ownerListers{
			services:     f.Core().V1().Services().Lister(),
			controllers:  f.Core().V1().ReplicationControllers().Lister(),
			replicaSets:  f.Apps().V1().ReplicaSets().Lister(),
			statefulSets: f.Apps().V1().StatefulSets().Lister(),
		}
	}
	return []framework.WeightedPlugin{
		{Plugin: &nodeUnschedulable{}},
		{Plugin: &nodeName{}},
		{Plugin: &taintToleration{}, Weight: 3},
		{Plugin: &nodeAffinity{}, Weight: 2},
		{Plugin: &nodePorts{}},
		{Plugin: &nodeResourcesFit{}, Weight: 1},
		{Plugin: &volumeBinding{listers: vl}},
		{Plugin: newPodTopologySpread(ol), Weight: 2},
		{Plugin: newInterPodAffinity(), Weight: 2},
		{Plugin: &balancedAllocation{}, Weight: 1},
		{Plugin: &imageLocality{}, Weight: 1},
	}
}

// volumeListers are VolumeBinding's listers; nil when there is no factory.
type volumeListers struct {
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
}

// ownerListers find the selectors of what owns or selects a pod, for the
// default spreading.
type ownerListers struct {
	services     corelisters.ServiceLister
	controllers  corelisters.ReplicationControllerLister
	replicaSets  appslisters.ReplicaSetLister
	statefulSets appslisters.StatefulSetLister
}
