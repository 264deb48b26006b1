package persistentvolume

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// syncVolume keeps a volume's phase in step with its claim, reclaims it
// when the claim is gone, and keeps its protection finalizer.
func (c *Controller) syncVolume(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv, err = c.syncVolumeBinding(ctx, pv); err != nil || pv == nil {
		return err
	}
	return c.protectVolume(ctx, pv)
}

// syncVolumeBinding moves the volume's phase on and returns the volume as
// it now is (nil once deleted).
func (c *Controller) syncVolumeBinding(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolume, error) {
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Unused, or reserved for a claim that has not bound yet.
		return c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
	}
	// A volume already Released or Failed lost its claim for good; for
	// any other the API is asked too before it is released.
	recheck := pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed
	claim, err := c.claimOf(ctx, ref, recheck)
	if err != nil {
		return nil, err
	}
	switch {
	case claim == nil:
		return c.release(ctx, pv)
	case claim.Spec.VolumeName == "":
		if !volumeModeMatches(pv, claim) {
			c.recorder.Eventf(pv, corev1.EventTypeWarning, reasonVolumeMismatch,
				"Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name)
			c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonVolumeMismatch,
				"Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", pv.Name)
			return pv, nil
		}
		// The claim's sync finishes the binding (for a provisioned
		// volume, this is how its claim learns about it).
		c.claimQueue.Add(claimKey(claim.Namespace, claim.Name))
		return pv, nil
	case claim.Spec.VolumeName == pv.Name:
		return c.setVolumePhase(ctx, pv, corev1.VolumeBound, "")
	case pv.Annotations[AnnProvisionedBy] != "" && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
		// Provisioned for a claim that bound elsewhere: not needed.
		return c.release(ctx, pv)
	}
	// Bound to a claim that is bound to another volume.
	return pv, c.unbindVolume(ctx, pv)
}

// claimOf returns the claim a volume's claimRef names, or nil when it no
// longer exists (a claim of the same name with another UID is another
// claim). With recheck, a claim missing from the cache is looked up in
// the API, as the cache may not have seen it yet.
func (c *Controller) claimOf(ctx context.Context, ref *corev1.ObjectReference, recheck bool) (*corev1.PersistentVolumeClaim, error) {
	claim, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) && recheck {
		claim, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if claim.UID != ref.UID {
		return nil, nil
	}
	return claim, nil
}

// release marks a volume whose claim is gone Released (a Failed one stays
// Failed, so the user sees what went wrong) and reclaims it.
func (c *Controller) release(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
		var err error
		if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
			return nil, err
		}
	}
	return c.reclaim(ctx, pv)
}

// reclaim applies the volume's reclaim policy: Retain keeps it Released,
// Delete frees its storage and deletes it, Recycle is not supported.
func (c *Controller) reclaim(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolume, error) {
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return pv, nil
	case corev1.PersistentVolumeReclaimDelete:
		return c.deleteVolume(ctx, pv)
	case corev1.PersistentVolumeReclaimRecycle:
		return c.setVolumePhaseEvent(ctx, pv, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeFailedRecycle,
			"No recycler plugin found for the volume!")
	}
	return c.setVolumePhaseEvent(ctx, pv, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeUnknownPolicy,
		"Volume has unrecognized PersistentVolumeReclaimPolicy")
}

// deleteVolume frees a released volume's storage through the provisioner
// that made it and deletes the object. A volume of an external
// provisioner is left to it; any other volume cannot be deleted and is
// marked Failed.
func (c *Controller) deleteVolume(ctx context.Context, pv *corev1.PersistentVolume) (*corev1.PersistentVolume, error) {
	// Act only on the volume as the API has it now: a volume rebound or
	// already deleted since the cache saw it is not deleted again.
	fresh, err := c.client.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", pv.Name, err)
	}
	if fresh.UID != pv.UID || !released(fresh) {
		return fresh, nil
	}
	by := fresh.Annotations[AnnProvisionedBy]
	p, ok := c.provisioners[by]
	switch {
	case !ok && by != "" && !strings.HasPrefix(by, "kubernetes.io/"):
		return fresh, nil // an external provisioner deletes it
	case !ok:
		return c.setVolumePhaseEvent(ctx, fresh, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeFailedDelete,
			fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name))
	}
	if err := p.Delete(ctx, fresh); err != nil {
		if _, perr := c.setVolumePhaseEvent(ctx, fresh, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeFailedDelete, err.Error()); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("deleting volume %s: %w", pv.Name, err)
	}
	if fresh.DeletionTimestamp != nil {
		return fresh, nil
	}
	uid := fresh.UID
	err = c.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deleting volume %s: %w", pv.Name, err)
	}
	c.log.Info("deleted volume", "volume", pv.Name, "provisioner", by)
	return nil, nil
}

// released says the volume is Released or Failed with a claim reference.
func released(pv *corev1.PersistentVolume) bool {
	return pv.Spec.ClaimRef != nil && (pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed)
}

func volumeModeMatches(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) bool {
	mode := func(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
		if m == nil {
			return corev1.PersistentVolumeFilesystem
		}
		return *m
	}
	return mode(pv.Spec.VolumeMode) == mode(claim.Spec.VolumeMode)
}
