package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/controller/volume/pvmatch"
)

// expand grows a bound claim's volume to the claim's request when its
// class allows expansion and a built-in provisioner made it, then records
// the size in the claim's status.capacity. (For local-path volumes the
// size is recorded, not enforced.)
func (c *Controller) expand(ctx context.Context, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) error {
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	have := claim.Status.Capacity[corev1.ResourceStorage]
	if want.Cmp(have) <= 0 {
		return nil
	}
	if pvmatch.Capacity(pv) < want.Value() {
		p, ok := c.expandable(claim, pv, want.String())
		if !ok {
			return nil
		}
		var err error
		if pv, err = c.growVolume(ctx, p, pv, claim); err != nil {
			return err
		}
	}
	next := claim.DeepCopy()
	next.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("claim %s/%s capacity: %w", claim.Namespace, claim.Name, err)
	}
	got := pv.Spec.Capacity[corev1.ResourceStorage]
	c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonResizeSucceeded, "Resize volume succeeded: %s is now %s", pv.Name, got.String())
	return nil
}

// expandable returns the provisioner that grows the claim's volume, or
// reports (once per claim and size) why it cannot grow.
func (c *Controller) expandable(claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, size string) (Provisioner, bool) {
	class, err := c.classes.Get(pvmatch.VolumeClass(pv))
	allowed := err == nil && class.AllowVolumeExpansion != nil && *class.AllowVolumeExpansion
	by := pv.Annotations[AnnProvisionedBy]
	p, builtin := c.provisioners[by]
	switch {
	case allowed && builtin:
		return p, true
	case allowed && by != "":
		return nil, false // an external resizer's work
	}
	if _, seen := c.resizeWarned.LoadOrStore(string(claim.UID)+"/"+size, true); !seen {
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonResizeFailed,
			"only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
	}
	return nil, false
}

// growVolume has the provisioner grow the storage (when it can) and
// records the claim's request as the volume's capacity.
func (c *Controller) growVolume(ctx context.Context, p Provisioner, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if e, ok := p.(Expander); ok {
		if err := e.Expand(ctx, pv, want); err != nil {
			c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonResizeFailed, "resize volume %q failed: %v", pv.Name, err)
			return nil, fmt.Errorf("expanding volume %s: %w", pv.Name, err)
		}
	}
	next := pv.DeepCopy()
	if next.Spec.Capacity == nil {
		next.Spec.Capacity = corev1.ResourceList{}
	}
	next.Spec.Capacity[corev1.ResourceStorage] = want
	out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("expanding volume %s: %w", pv.Name, err)
	}
	return out, nil
}
