package statefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// plan is what one sync does to pods. It is decided before any of it is
// done, so the expectations cover all of it.
type plan struct {
	// creates are the ordinals of the pods to create, lowest first.
	creates []int
	// replace are failed or succeeded pods, deleted to be made anew.
	replace []*corev1.Pod
	// deletes are pods scaled away and the pod a rolling update replaces.
	deletes []*corev1.Pod
}

// manage plans and carries out the creates and deletes that bring the
// set's pods to its spec: first the pods in range, then those scaled
// away, then the rolling update. OrderedReady sets stop at the first pod
// that is missing, failed, not yet available or going away; Parallel
// sets go on.
func (c *Controller) manage(ctx context.Context, s *syncState) error {
	var p plan
	blocked, err := c.planReplicas(ctx, s, &p)
	if err == nil && !blocked {
		blocked, err = c.planCondemned(ctx, s, &p)
	}
	if err != nil {
		return err
	}
	if !blocked {
		planRolling(s, &p)
	}
	return c.execute(ctx, s, &p)
}

// planReplicas plans the pods in range: missing ones are created, failed
// ones replaced. Along the way the claims of pending pods are made, and
// the identity and claim owners of running ones kept right. blocked says
// an OrderedReady set must wait.
func (c *Controller) planReplicas(ctx context.Context, s *syncState, p *plan) (blocked bool, err error) {
	mono := monotonic(s.set)
	start := startOrdinal(s.set)
	for i, pod := range s.replicas {
		switch {
		case pod == nil:
			stale, err := c.claimsStale(s.set, start+i)
			if err != nil {
				return true, err
			}
			if !stale {
				p.creates = append(p.creates, start+i)
			}
			if mono {
				return true, nil
			}
			continue
		case isTerminal(pod):
			if pod.DeletionTimestamp == nil {
				p.replace = append(p.replace, pod)
			}
			if mono {
				return true, nil
			}
			continue
		case pod.Status.Phase == corev1.PodPending:
			if err := c.createClaims(ctx, s.set, pod); err != nil {
				return true, err
			}
		}
		if mono && (pod.DeletionTimestamp != nil || !isAvailable(pod, s.set.Spec.MinReadySeconds, s.now)) {
			return true, nil
		}
		if pod.DeletionTimestamp == nil {
			if err := c.enforceIdentity(ctx, s, pod); err != nil {
				return true, err
			}
		}
	}
	return false, nil
}

// planCondemned plans the deletion of the pods scaled away, after their
// claims got the owners the retention policy asks for. An OrderedReady
// set deletes the highest first, one at a time, and only while the others
// are available, except that it may delete the lowest unhealthy one.
func (c *Controller) planCondemned(ctx context.Context, s *syncState, p *plan) (blocked bool, err error) {
	for _, pod := range s.condemned {
		if err := c.syncClaimOwners(ctx, s.set, pod); err != nil {
			return true, err
		}
	}
	mono := monotonic(s.set)
	var firstUnhealthy *corev1.Pod
	for _, pod := range slices.Backward(s.condemned) {
		if !isHealthy(pod) {
			firstUnhealthy = pod
			break
		}
	}
	for _, pod := range s.condemned {
		switch {
		case pod.DeletionTimestamp != nil:
			if mono {
				return true, nil
			}
			continue
		case mono && pod != firstUnhealthy && !isAvailable(pod, s.set.Spec.MinReadySeconds, s.now):
			return true, nil
		}
		p.deletes = append(p.deletes, pod)
		if mono {
			return true, nil
		}
	}
	return false, nil
}

// planRolling plans the next step of a RollingUpdate: from the highest
// ordinal down to the partition, the first pod of another revision is
// deleted (to be made anew from the update revision) once every pod above
// it is healthy.
func planRolling(s *syncState, p *plan) {
	strategy := s.set.Spec.UpdateStrategy
	if strategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return
	}
	partition := 0
	if ru := strategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	for i := len(s.replicas) - 1; i >= partition; i-- {
		pod := s.replicas[i]
		if pod == nil || slices.Contains(p.replace, pod) {
			return
		}
		if revisionOf(pod) != s.update.Name && pod.DeletionTimestamp == nil {
			p.deletes = append(p.deletes, pod)
			return
		}
		if !isHealthy(pod) {
			return
		}
	}
}

// enforceIdentity restores the identity labels of a pod and keeps its
// claims' owners as the retention policy says.
func (c *Controller) enforceIdentity(ctx context.Context, s *syncState, pod *corev1.Pod) error {
	if !identityMatches(s.set, pod) {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{
			podNameLabel: pod.Name, podIndexLabel: strconv.Itoa(ordinalOf(pod)),
		}}})
		if err != nil {
			return fmt.Errorf("identity patch: %w", err)
		}
		_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		c.podEvent(s.set, "update", pod.Name, err)
		if err != nil {
			return fmt.Errorf("restore identity of pod %s: %w", pod.Name, err)
		}
	}
	if !storageMatches(s.set, pod) {
		// A pod's volumes cannot change; it gets the set's claims when it
		// is made anew.
		c.log.Debug("pod does not mount its claims", "namespace", pod.Namespace, "pod", pod.Name)
	}
	return c.syncClaimOwners(ctx, s.set, pod)
}
