package persistentvolume

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// protectClaim adds the pvc-protection finalizer to a live claim and
// removes it from a deleted one no pod uses any more. It returns the
// claim as it now is, or nil when the claim is on its way out and needs
// nothing else.
func (c *Controller) protectClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, error) {
	has := slices.Contains(claim.Finalizers, FinalizerPVCProtection)
	if claim.DeletionTimestamp == nil {
		if has {
			return claim, nil
		}
		next := claim.DeepCopy()
		next.Finalizers = append(next.Finalizers, FinalizerPVCProtection)
		out, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("adding %s to claim %s/%s: %w", FinalizerPVCProtection, claim.Namespace, claim.Name, err)
		}
		return out, nil
	}
	if !has {
		return claim, nil
	}
	used, err := c.claimInUse(ctx, claim)
	if err != nil || used {
		return claim, err
	}
	next := claim.DeepCopy()
	next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == FinalizerPVCProtection })
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("removing %s from claim %s/%s: %w", FinalizerPVCProtection, claim.Namespace, claim.Name, err)
	}
	c.log.Debug("claim no longer in use", "claim", claim.Namespace+"/"+claim.Name)
	return nil, nil
}

// claimInUse says a scheduled pod that has not terminated uses the claim.
// A claim the cache shows unused is checked against the API too, so a
// pod the cache has not seen yet still protects it.
func (c *Controller) claimInUse(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	pods, err := c.podsUsing(claim)
	if err != nil {
		return false, err
	}
	for _, pod := range pods {
		if blocksDeletion(pod) {
			return true, nil
		}
	}
	list, err := c.client.CoreV1().Pods(claim.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("listing pods using claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	for i := range list.Items {
		if pod := &list.Items[i]; podUsesClaim(pod, claim) && blocksDeletion(pod) {
			return true, nil
		}
	}
	return false, nil
}

// blocksDeletion says the pod keeps its claims: it is scheduled (the node
// agent refuses claims being deleted to pods it has not started) and has
// not terminated.
func blocksDeletion(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && !podTerminated(pod)
}

// protectVolume adds the pv-protection finalizer to a live volume and
// removes it from a deleted one that is no longer bound.
func (c *Controller) protectVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	has := slices.Contains(pv.Finalizers, FinalizerPVProtection)
	var next *corev1.PersistentVolume
	switch {
	case pv.DeletionTimestamp == nil && !has:
		next = pv.DeepCopy()
		next.Finalizers = append(next.Finalizers, FinalizerPVProtection)
	case pv.DeletionTimestamp != nil && has && pv.Status.Phase != corev1.VolumeBound:
		next = pv.DeepCopy()
		next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == FinalizerPVProtection })
	default:
		return nil
	}
	if _, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating %s on volume %s: %w", FinalizerPVProtection, pv.Name, err)
	}
	return nil
}
