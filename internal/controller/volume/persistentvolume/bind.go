package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bind binds volume and claim to each other in upstream's order: the
// volume's claimRef, the volume's phase, the claim's volumeName and
// annotations, the claim's status. Each step that is already done is
// skipped; a failure leaves the rest to the next sync.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	pv, err := c.bindVolume(ctx, pv, claim)
	if err != nil {
		return err
	}
	if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeBound, ""); err != nil {
		return err
	}
	if claim, err = c.bindClaim(ctx, claim, pv); err != nil {
		return err
	}
	_, err = c.setClaimPhase(ctx, claim, corev1.ClaimBound, pv)
	return err
}

// bindVolume points the volume's claimRef at the claim (with its UID),
// marking it bound by the controller unless the user pre-bound it.
func (c *Controller) bindVolume(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	ref := pv.Spec.ClaimRef
	if ref != nil && ref.UID == claim.UID && ref.Name == claim.Name && ref.Namespace == claim.Namespace {
		return pv, nil
	}
	next := pv.DeepCopy()
	next.Spec.ClaimRef = claimReference(claim)
	if ref == nil {
		setAnnotation(&next.ObjectMeta, AnnBoundByController, annYes)
	}
	out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("binding volume %s to claim %s/%s: %w", pv.Name, claim.Namespace, claim.Name, err)
	}
	return out, nil
}

// bindClaim sets the claim's volumeName and the bind-completed annotation.
func (c *Controller) bindClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	if claim.Spec.VolumeName == pv.Name && claim.Annotations[AnnBindCompleted] != "" {
		return claim, nil
	}
	next := claim.DeepCopy()
	if next.Spec.VolumeName != pv.Name {
		next.Spec.VolumeName = pv.Name
		setAnnotation(&next.ObjectMeta, AnnBoundByController, annYes)
	}
	setAnnotation(&next.ObjectMeta, AnnBindCompleted, annYes)
	out, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("binding claim %s/%s to volume %s: %w", claim.Namespace, claim.Name, pv.Name, err)
	}
	return out, nil
}

// unbindVolume undoes a binding the claim does not share: a volume the
// controller bound loses its claimRef, one the user pre-bound only the
// UID. The volume is Available again.
func (c *Controller) unbindVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	next := pv.DeepCopy()
	if pv.Annotations[AnnBoundByController] != "" {
		next.Spec.ClaimRef = nil
		delete(next.Annotations, AnnBoundByController)
	} else {
		next.Spec.ClaimRef.UID = ""
	}
	out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("unbinding volume %s: %w", pv.Name, err)
	}
	_, err = c.setVolumePhase(ctx, out, corev1.VolumeAvailable, "")
	return err
}

// claimReference is the claimRef of a volume bound to claim.
func claimReference(claim *corev1.PersistentVolumeClaim) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind: "PersistentVolumeClaim", APIVersion: "v1",
		Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion,
	}
}

// setClaimPhase writes the claim's phase. With a volume, status.accessModes
// follow it and status.capacity takes its size when the claim becomes
// Bound (not later: a difference may be intended); without one both are
// cleared.
func (c *Controller) setClaimPhase(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	next := claim.DeepCopy()
	next.Status.Phase = phase
	if pv == nil {
		next.Status.AccessModes, next.Status.Capacity = nil, nil
	} else {
		next.Status.AccessModes = pv.Spec.AccessModes
		if claim.Status.Phase != phase {
			want, have := pv.Spec.Capacity.Storage(), claim.Status.Capacity.Storage()
			if want.Cmp(*have) != 0 || claim.Status.Capacity == nil {
				next.Status.Capacity = pv.Spec.Capacity.DeepCopy()
			}
		}
	}
	if equality.Semantic.DeepEqual(next.Status, claim.Status) {
		return claim, nil
	}
	out, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("claim %s/%s status %s: %w", claim.Namespace, claim.Name, phase, err)
	}
	return out, nil
}

// setClaimPhaseEvent moves the claim to phase with a warning event; a
// claim already in phase is left alone.
func (c *Controller) setClaimPhaseEvent(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume, reason, msg string) (*corev1.PersistentVolumeClaim, error) {
	if claim.Status.Phase == phase {
		return claim, nil
	}
	out, err := c.setClaimPhase(ctx, claim, phase, pv)
	if err != nil {
		return nil, err
	}
	c.recorder.Event(out, corev1.EventTypeWarning, reason, msg)
	return out, nil
}

// setVolumePhase writes the volume's phase and message, stamping
// lastPhaseTransitionTime when the phase changes.
func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Message == msg {
		return pv, nil
	}
	next := pv.DeepCopy()
	if pv.Status.Phase != phase {
		now := metav1.NewTime(c.now())
		next.Status.LastPhaseTransitionTime = &now
	}
	next.Status.Phase, next.Status.Message = phase, msg
	out, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("volume %s status %s: %w", pv.Name, phase, err)
	}
	return out, nil
}

// setVolumePhaseEvent moves the volume to phase with an event (and the
// message in its status); a volume already in phase is left alone.
func (c *Controller) setVolumePhaseEvent(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, etype, reason, msg string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase {
		return pv, nil
	}
	out, err := c.setVolumePhase(ctx, pv, phase, msg)
	if err != nil {
		return nil, err
	}
	c.recorder.Event(out, etype, reason, msg)
	return out, nil
}

func setAnnotation(m *metav1.ObjectMeta, key, value string) {
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = value
}
