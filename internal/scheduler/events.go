package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// setupInformers wires the informers to the cache and the queue. Pods
// are watched without the terminal ones (they hold no resources), through
// an informer of the scheduler's own; the rest comes from the shared
// factory.
func (s *Scheduler) setupInformers() {
	pods := informers.NewSharedInformerFactoryWithOptions(s.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed)
	}), informers.WithTransform(StripManagedFields))
	s.podInf = pods.Core().V1().Pods().Informer()
	s.podLister = pods.Core().V1().Pods().Lister()
	podReg, _ := s.podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { s.onPodAdd(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj interface{}) { s.onPodUpdate(old.(*corev1.Pod), obj.(*corev1.Pod)) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				s.onPodDelete(pod)
			}
		},
	})
	nodes := s.factory.Core().V1().Nodes().Informer()
	nodeReg, _ := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			s.cache.AddNode(obj.(*corev1.Node))
			s.queue.MoveAll(nil)
		},
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Node), obj.(*corev1.Node)
			s.cache.AddNode(n)
			if nodeGotBetter(o, n) {
				s.queue.MoveAll(nil)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				s.cache.RemoveNode(n)
			}
		},
	})
	nss := s.factory.Core().V1().Namespaces().Informer()
	nsReg, _ := nss.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { s.cache.SetNamespace(obj.(*corev1.Namespace)) },
		UpdateFunc: func(old, obj interface{}) {
			s.cache.SetNamespace(obj.(*corev1.Namespace))
			if !labelsEqual(old.(*corev1.Namespace).Labels, obj.(*corev1.Namespace).Labels) {
				s.queue.MoveAll(hasPodAffinity)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if ns, ok := obj.(*corev1.Namespace); ok {
				s.cache.RemoveNamespace(ns.Name)
			}
		},
	})
	// Storage objects decide volume plugins; any change may help a pod.
	any := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { s.queue.MoveAll(hasVolumeClaims) },
		UpdateFunc: func(_, _ interface{}) { s.queue.MoveAll(hasVolumeClaims) },
	}
	pvcs := s.factory.Core().V1().PersistentVolumeClaims().Informer()
	pvs := s.factory.Core().V1().PersistentVolumes().Informer()
	scs := s.factory.Storage().V1().StorageClasses().Informer()
	for _, inf := range []cache.SharedIndexInformer{pvcs, pvs, scs} {
		_, _ = inf.AddEventHandler(any)
	}
	pdbs := s.factory.Policy().V1().PodDisruptionBudgets()
	s.pdbLister = pdbs.Lister()
	// Listers the plugins took from the factory are started with it. The
	// scheduler's own cache is filled by the handlers: wait until they
	// have seen every object of the first list, not just the informers
	// (else the first pod may meet an empty cache: "no nodes available").
	s.synced = []cache.InformerSynced{podReg.HasSynced, nodeReg.HasSynced, nsReg.HasSynced,
		pvcs.HasSynced, pvs.HasSynced, scs.HasSynced, pdbs.Informer().HasSynced}
}

func (s *Scheduler) onPodAdd(pod *corev1.Pod) {
	if pod.Spec.NodeName != "" {
		s.cache.AddPod(pod)
		// A new pod may satisfy another's required affinity, or even out
		// a spread constraint.
		s.queue.MoveAll(hasPodAffinityOrSpread)
		return
	}
	if s.responsible(pod) {
		s.queue.Add(pod)
	}
}

func (s *Scheduler) onPodUpdate(old, pod *corev1.Pod) {
	switch {
	case pod.Spec.NodeName != "":
		if old.Spec.NodeName == "" {
			s.queue.Delete(pod) // bound (by us, or by someone else)
		}
		s.cache.AddPod(pod)
		if old.Spec.NodeName == "" {
			s.queue.MoveAll(hasPodAffinityOrSpread)
		} else if !labelsEqual(old.Labels, pod.Labels) {
			s.queue.MoveAll(nil)
		}
	case s.responsible(pod):
		s.queue.Add(pod)
	default:
		s.queue.Delete(pod) // deleting, gated again, or handed to another scheduler
	}
}

func (s *Scheduler) onPodDelete(pod *corev1.Pod) {
	if pod.Spec.NodeName == "" {
		s.queue.Delete(pod)
		return
	}
	s.cache.RemovePod(pod)
	s.queue.MoveAll(nil) // resources, ports and anti-affinity freed
}

// nodeGotBetter says an update may let pods fit that did not: allocatable,
// labels, taints, schedulability or readiness changed. Heartbeats do not.
func nodeGotBetter(o, n *corev1.Node) bool {
	if o.Spec.Unschedulable != n.Spec.Unschedulable || !labelsEqual(o.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
		!equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) {
		return true
	}
	return readyStatus(o) != readyStatus(n)
}

func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func hasPodAffinity(qp *queuedPod) bool {
	a := qp.pod.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

func hasPodAffinityOrSpread(qp *queuedPod) bool {
	a := qp.pod.Spec.Affinity
	return (a != nil && a.PodAffinity != nil) || len(qp.pod.Spec.TopologySpreadConstraints) > 0
}

func hasVolumeClaims(qp *queuedPod) bool {
	for _, v := range qp.pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			return true
		}
	}
	return false
}

// StripManagedFields is an informer transform that drops managedFields
// from cached objects: they are half of a pod's size and the scheduler
// and controllers do not read them.
func StripManagedFields(obj interface{}) (interface{}, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
