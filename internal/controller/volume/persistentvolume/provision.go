package persistentvolume

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/controller/volume/pvmatch"
)

// Provisioner makes and frees the storage behind the volumes of the
// StorageClasses that name it.
type Provisioner interface {
	// Name is the provisioner name classes give in .provisioner.
	Name() string
	// Provision returns the volume to create for a claim: at least its
	// source (and node affinity, for storage only some nodes reach). The
	// controller fills in the name, class, claimRef, reclaim policy, mount
	// options, access modes, volume mode and capacity where unset, adds
	// the provisioned-by annotation and creates it.
	Provision(ctx context.Context, req ProvisionRequest) (*corev1.PersistentVolume, error)
	// Delete frees the storage of a volume it provisioned; the controller
	// then deletes the object. It is called again until it succeeds, and
	// again while the object is being deleted, so it must be idempotent.
	Delete(ctx context.Context, pv *corev1.PersistentVolume) error
}

// Expander is a Provisioner whose volumes can grow.
type Expander interface {
	// Expand grows the storage of pv to size bytes.
	Expand(ctx context.Context, pv *corev1.PersistentVolume, size resource.Quantity) error
}

// ProvisionRequest is one claim to provision for.
type ProvisionRequest struct {
	// PVName is the name the volume gets: pvc-<claim UID>.
	PVName string
	Claim  *corev1.PersistentVolumeClaim
	Class  *storagev1.StorageClass
	// SelectedNode is the node the claim's first consumer was scheduled
	// to (WaitForFirstConsumer classes); nil for Immediate binding.
	SelectedNode *corev1.Node
}

// provisionedName is the name of the volume provisioned for a claim.
func provisionedName(claim *corev1.PersistentVolumeClaim) string {
	return "pvc-" + string(claim.UID)
}

// provision gets a volume for the claim from its class's provisioner: a
// built-in one provisions now, any other is waited for. node is the
// selected node of a WaitForFirstConsumer claim.
func (c *Controller) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, node *corev1.Node) error {
	if class == nil {
		c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonProvisioningFailed,
			"storageclass.storage.k8s.io %q not found", pvmatch.ClaimClass(claim))
		_, err := c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	name := class.Provisioner
	p, builtin := c.provisioners[name]
	if !builtin && strings.HasPrefix(name, "kubernetes.io/") {
		// In-tree names (kubernetes.io/no-provisioner among them) have no
		// plugin here; no external provisioner will answer either.
		c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "no volume plugin matched name: %s", name)
		_, err := c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	claim, err := c.markForProvisioning(ctx, claim, name, node)
	if err != nil {
		return err
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonExternalProvisioning,
		"Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. "+
			"If volume creation is delayed, please verify that the provisioner is running and correctly registered.", name)
	if !builtin {
		_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	return c.provisionWith(ctx, p, claim, class, node)
}

// markForProvisioning records on the claim which provisioner provisions
// it and, for WaitForFirstConsumer, on which node.
func (c *Controller) markForProvisioning(ctx context.Context, claim *corev1.PersistentVolumeClaim, provisioner string, node *corev1.Node) (*corev1.PersistentVolumeClaim, error) {
	want := map[string]string{AnnStorageProvisioner: provisioner, AnnBetaStorageProvisioner: provisioner}
	if node != nil {
		want[AnnSelectedNode] = node.Name
	}
	next := claim.DeepCopy()
	changed := false
	for k, v := range want {
		if next.Annotations[k] != v {
			setAnnotation(&next.ObjectMeta, k, v)
			changed = true
		}
	}
	if !changed {
		return claim, nil
	}
	out, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("annotating claim %s/%s for provisioning: %w", claim.Namespace, claim.Name, err)
	}
	return out, nil
}

// provisionWith has a built-in provisioner make the claim's volume and
// creates it, pre-bound to the claim; the claim binds to it on its next
// sync. A volume already provisioned for the claim is not made again.
func (c *Controller) provisionWith(ctx context.Context, p Provisioner, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, node *corev1.Node) error {
	rec := c.provRecorder(p.Name())
	pvName := provisionedName(claim)
	_, err := c.client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err == nil {
		c.volumeQueue.Add(pvName) // the cache lags; the volume's sync binds it
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("volume %s: %w", pvName, err)
	}
	rec.Eventf(claim, corev1.EventTypeNormal, reasonProvisioning, "External provisioner is provisioning volume for claim %q", claim.Namespace+"/"+claim.Name)
	pv, err := p.Provision(ctx, ProvisionRequest{PVName: pvName, Claim: claim, Class: class, SelectedNode: node})
	if err != nil {
		rec.Eventf(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "failed to provision volume with StorageClass %q: %v", class.Name, err)
		return fmt.Errorf("provisioning claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	completeProvisioned(pv, pvName, p.Name(), claim, class)
	if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		rec.Eventf(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "failed to create volume %s: %v", pvName, err)
		return fmt.Errorf("creating volume %s: %w", pvName, err)
	}
	rec.Eventf(claim, corev1.EventTypeNormal, reasonProvisioningSucceeded, "Successfully provisioned volume %s", pvName)
	c.log.Info("provisioned volume", "volume", pvName, "claim", claim.Namespace+"/"+claim.Name, "provisioner", p.Name())
	return nil
}

// completeProvisioned fills in what the controller decides for a
// provisioned volume.
func completeProvisioned(pv *corev1.PersistentVolume, name, provisioner string, claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass) {
	pv.Name = name
	setAnnotation(&pv.ObjectMeta, AnnProvisionedBy, provisioner)
	if !slices.Contains(pv.Finalizers, FinalizerPVProtection) {
		pv.Finalizers = append(pv.Finalizers, FinalizerPVProtection)
	}
	pv.Spec.ClaimRef = claimReference(claim)
	pv.Spec.StorageClassName = class.Name
	pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		pv.Spec.PersistentVolumeReclaimPolicy = *class.ReclaimPolicy
	}
	if len(pv.Spec.MountOptions) == 0 {
		pv.Spec.MountOptions = class.MountOptions
	}
	if len(pv.Spec.AccessModes) == 0 {
		pv.Spec.AccessModes = claim.Spec.AccessModes
	}
	if pv.Spec.VolumeMode == nil {
		pv.Spec.VolumeMode = claim.Spec.VolumeMode
	}
	if _, ok := pv.Spec.Capacity[corev1.ResourceStorage]; !ok {
		pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: claim.Spec.Resources.Requests[corev1.ResourceStorage]}
	}
}
