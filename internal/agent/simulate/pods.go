package simulate

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// newPodInformer watches every bound pod once for all simulated nodes;
// the handlers keep those of simulated nodes.
func newPodInformer(client kubernetes.Interface) cache.SharedIndexInformer {
	inf := coreinformers.NewFilteredPodInformer(client, metav1.NamespaceAll, 0, cache.Indexers{}, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	})
	_ = inf.SetTransform(dropManagedFields)
	return inf
}

func (s *Simulator) enqueuePod(obj interface{}) {
	if pod, ok := obj.(*corev1.Pod); ok && s.byName[pod.Spec.NodeName] != nil {
		s.podQ.q.Add(cache.ObjectName{Namespace: pod.Namespace, Name: pod.Name})
	}
}

// forgetPod frees a deleted pod's address.
func (s *Simulator) forgetPod(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		if n := s.byName[pod.Spec.NodeName]; n != nil {
			n.ips.release(pod.UID)
		}
	}
}

// reservePodIPs takes back the addresses pods of the simulated nodes
// already have, before any new pod is given one.
func (s *Simulator) reservePodIPs() {
	for _, obj := range s.podInf.GetIndexer().List() {
		pod := obj.(*corev1.Pod)
		n := s.byName[pod.Spec.NodeName]
		if n == nil || pod.Spec.HostNetwork || isTerminal(pod.Status.Phase) || pod.Status.PodIP == "" {
			continue
		}
		n.ips.reserve(pod.UID, pod.Status.PodIP)
	}
}

// syncPod does for a pod what the real agent would once its containers
// run: report it Running (or Succeeded, see ExitAfterAnnotation), and
// finish its deletion.
func (s *Simulator) syncPod(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	obj, exists, err := s.podInf.GetIndexer().GetByKey(key.String())
	if err != nil || !exists {
		return 0, err
	}
	pod := obj.(*corev1.Pod)
	n := s.byName[pod.Spec.NodeName]
	switch {
	case n == nil:
		return 0, nil
	case pod.DeletionTimestamp != nil:
		return 0, s.finishDeletion(ctx, pod)
	case isTerminal(pod.Status.Phase):
		n.ips.release(pod.UID)
		return 0, nil
	}
	podIP, err := s.podIP(n, pod)
	if err != nil {
		return 0, err
	}
	status, again := podStatus(pod, n.ip, podIP, s.now())
	if equality.Semantic.DeepEqual(&status, &pod.Status) {
		return again, nil
	}
	next := pod.DeepCopy()
	next.Status = status
	if _, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			n.ips.release(pod.UID)
			return 0, nil
		}
		return 0, fmt.Errorf("simulate: pod %s status: %w", key, err)
	}
	if isTerminal(status.Phase) {
		n.ips.release(pod.UID)
	}
	return again, nil
}

// podIP is the node's address for host-network pods, the address the pod
// has, or a new one from the node's pod CIDR.
func (s *Simulator) podIP(n *simNode, pod *corev1.Pod) (string, error) {
	if pod.Spec.HostNetwork {
		return n.ip, nil
	}
	if pod.Status.PodIP != "" {
		n.ips.reserve(pod.UID, pod.Status.PodIP)
		return pod.Status.PodIP, nil
	}
	a, err := n.ips.assign(pod.UID, s.podPrefix(n))
	if err != nil {
		return "", fmt.Errorf("simulate: pod %s/%s on %s: %w", pod.Namespace, pod.Name, n.name, err)
	}
	return a.String(), nil
}

// podPrefix is the node's spec.podCIDR when the server gave it one, else
// its fallback range.
func (s *Simulator) podPrefix(n *simNode) netip.Prefix {
	if obj, ok, _ := s.nodeInf.GetIndexer().GetByKey(n.name); ok {
		if p, err := netip.ParsePrefix(obj.(*corev1.Node).Spec.PodCIDR); err == nil {
			return p
		}
	}
	return n.fallback
}

// finishDeletion removes a deleted pod as the real agent does once its
// containers stopped: grace period 0, guarded by the UID.
func (s *Simulator) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	zero := int64(0)
	uid := pod.UID
	err := s.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("simulate: delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

func isTerminal(phase corev1.PodPhase) bool {
	return phase == corev1.PodSucceeded || phase == corev1.PodFailed
}
