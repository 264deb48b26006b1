package persistentvolume

// Annotations, finalizers and event reasons, as Kubernetes spells them.
const (
	// AnnBindCompleted on a claim: the controller finished binding it.
	AnnBindCompleted = "pv.kubernetes.io/bind-completed"
	// AnnBoundByController on a volume or claim: the controller, not the
	// user, set its claimRef or volumeName (and may undo it).
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	// AnnProvisionedBy on a volume names the provisioner that created it.
	AnnProvisionedBy = "pv.kubernetes.io/provisioned-by"
	// AnnSelectedNode on a WaitForFirstConsumer claim names the node its
	// first consumer was scheduled to; the volume is provisioned there.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnStorageProvisioner (and its beta form) on a claim names the
	// provisioner expected to provision it.
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnDefaultClass on a StorageClass makes it the default.
	AnnDefaultClass     = "storageclass.kubernetes.io/is-default-class"
	annBetaDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"

	// FinalizerPVCProtection keeps a claim while a pod uses it.
	FinalizerPVCProtection = "kubernetes.io/pvc-protection"
	// FinalizerPVProtection keeps a volume while it is bound.
	FinalizerPVProtection = "kubernetes.io/pv-protection"

	// NoProvisioner is the provisioner of classes for static volumes only.
	NoProvisioner = "kubernetes.io/no-provisioner"

	annYes = "yes"
)

// Event reasons.
const (
	reasonWaitForFirstConsumer  = "WaitForFirstConsumer"
	reasonWaitForPodScheduled   = "WaitForPodScheduled"
	reasonExternalProvisioning  = "ExternalProvisioning"
	reasonProvisioning          = "Provisioning"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonFailedBinding         = "FailedBinding"
	reasonVolumeMismatch        = "VolumeMismatch"
	reasonClaimLost             = "ClaimLost"
	reasonClaimMisbound         = "ClaimMisbound"
	reasonVolumeFailedDelete    = "VolumeFailedDelete"
	reasonVolumeFailedRecycle   = "VolumeFailedRecycle"
	reasonVolumeUnknownPolicy   = "VolumeUnknownReclaimPolicy"
	reasonResizeSucceeded       = "VolumeResizeSuccessful"
	reasonResizeFailed          = "VolumeResizeFailed"
)
