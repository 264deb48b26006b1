package persistentvolume

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const fakeProv = "example.com/fake"

func wffc(name, provisioner string) *storagev1.StorageClass {
	return newClass(name, provisioner, storagev1.VolumeBindingWaitForFirstConsumer)
}

// TestWaitForFirstConsumer walks a WaitForFirstConsumer claim from
// creation through its pod's scheduling to a provisioned, bound volume.
func TestWaitForFirstConsumer(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("local")), wffc("local", fakeProv), newNode("n1"), newNode("n2"))

	// No pod yet.
	f.settle()
	events := f.events()
	expectEvent(t, events, "Normal WaitForFirstConsumer waiting for first consumer to be created before binding")
	expectNoEvent(t, events, reasonExternalProvisioning)
	if claim := f.claim("data"); claim.Annotations[AnnSelectedNode] != "" || claim.Spec.VolumeName != "" {
		t.Fatalf("claim acted on without a consumer: %v", claim.Annotations)
	}

	// A pod that is not scheduled yet.
	_, err := f.client.CoreV1().Pods(ns).Create(context.Background(), newPod("web-0", "", "data"), metav1.CreateOptions{})
	f.check(err)
	f.settle()
	expectEvent(t, f.events(), "Normal WaitForPodScheduled waiting for pod web-0 to be scheduled")
	if len(f.prov.nodes) != 0 {
		t.Fatalf("provisioned before scheduling: %v", f.prov.nodes)
	}

	// The scheduler puts it on n2.
	pod, err := f.client.CoreV1().Pods(ns).Get(context.Background(), "web-0", metav1.GetOptions{})
	f.check(err)
	pod.Spec.NodeName = "n2"
	_, err = f.client.CoreV1().Pods(ns).Update(context.Background(), pod, metav1.UpdateOptions{})
	f.check(err)
	f.settle()
	events = f.events()
	claim := f.claim("data")
	if claim.Annotations[AnnSelectedNode] != "n2" || claim.Annotations[AnnStorageProvisioner] != fakeProv ||
		claim.Annotations[AnnBetaStorageProvisioner] != fakeProv {
		t.Errorf("claim annotations %v", claim.Annotations)
	}
	if !slices.Equal(f.prov.nodes, []string{"n2"}) {
		t.Errorf("provisioned on %v, want [n2] once", f.prov.nodes)
	}
	pv := f.volume("pvc-uid-data")
	checkBound(t, f, claim, pv)
	checkProvisioned(t, pv, "local", corev1.PersistentVolumeReclaimDelete)
	expectEvent(t, events, "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'example.com/fake' "+
		"or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.")
	expectEvent(t, events, `Normal Provisioning External provisioner is provisioning volume for claim "default/data"`)
	expectEvent(t, events, "Normal ProvisioningSucceeded Successfully provisioned volume pvc-uid-data")
}

// checkProvisioned checks what the controller adds to a provisioned
// volume.
func checkProvisioned(t *testing.T, pv *corev1.PersistentVolume, class string, policy corev1.PersistentVolumeReclaimPolicy) {
	t.Helper()
	if pv.Annotations[AnnProvisionedBy] != fakeProv || pv.Spec.StorageClassName != class || pv.Spec.PersistentVolumeReclaimPolicy != policy {
		t.Errorf("annotations %v, class %q, policy %s", pv.Annotations, pv.Spec.StorageClassName, pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if storage(pv.Spec.Capacity) != "1Gi" || !slices.Equal(pv.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) ||
		pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("capacity %s, modes %v, volumeMode %v", storage(pv.Spec.Capacity), pv.Spec.AccessModes, pv.Spec.VolumeMode)
	}
	if !slices.Contains(pv.Finalizers, FinalizerPVProtection) {
		t.Errorf("finalizers %v", pv.Finalizers)
	}
}

// TestWaitForFirstConsumerStaticVolumes: a claim whose consumer is on a
// node binds to a volume reachable from that node, even when a smaller
// one exists elsewhere, and nothing is provisioned.
func TestWaitForFirstConsumerStaticVolumes(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("local")), wffc("local", NoProvisioner),
		newVolume("pv-n1", "1Gi", volClass("local"), volOnNode("n1")),
		newVolume("pv-n2-big", "10Gi", volClass("local"), volOnNode("n2")),
		newVolume("pv-n2", "5Gi", volClass("local"), volOnNode("n2")),
		newNode("n1"), newNode("n2"), newPod("web-0", "n2", "data"))
	f.settle()
	claim := f.claim("data")
	checkBound(t, f, claim, f.volume("pv-n2"))
	if _, ok := claim.Annotations[AnnSelectedNode]; ok {
		t.Error("binding a static volume sets no selected node")
	}
	if f.volume("pv-n1").Status.Phase != corev1.VolumeAvailable {
		t.Error("pv-n1 must stay Available")
	}
}

// TestWaitForFirstConsumerNoVolumeOnNode: static-only class, consumer on
// a node without a volume: the claim waits with the upstream warning.
func TestWaitForFirstConsumerNoVolumeOnNode(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("local")), wffc("local", NoProvisioner),
		newVolume("pv-n1", "1Gi", volClass("local"), volOnNode("n1")), newNode("n1"), newNode("n2"), newPod("web-0", "n2", "data"))
	f.settle()
	expectEvent(t, f.events(), "Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/no-provisioner")
	claim := f.claim("data")
	if claim.Spec.VolumeName != "" || claim.Annotations[AnnSelectedNode] != "" {
		t.Errorf("claim %q %v", claim.Spec.VolumeName, claim.Annotations)
	}
}

// TestSelectedNodeAnnotationWins: a claim that already has a selected
// node is provisioned there, whatever node its pods are on.
func TestSelectedNodeAnnotationWins(t *testing.T) {
	claim := newClaim("data", "1Gi", withClass("local"))
	claim.Annotations = map[string]string{AnnSelectedNode: "n1"}
	f := newFixture(t, claim, wffc("local", fakeProv), newNode("n1"), newNode("n2"), newPod("web-0", "n2", "data"))
	f.settle()
	if !slices.Equal(f.prov.nodes, []string{"n1"}) {
		t.Errorf("provisioned on %v, want [n1]", f.prov.nodes)
	}
}

// TestTerminatedConsumerIgnored: a finished pod does not pick the node.
func TestTerminatedConsumerIgnored(t *testing.T) {
	done := newPod("job-0", "n1", "data")
	done.Status.Phase = corev1.PodSucceeded
	f := newFixture(t, newClaim("data", "1Gi", withClass("local")), wffc("local", fakeProv), newNode("n1"), done)
	f.settle()
	if len(f.prov.nodes) != 0 {
		t.Errorf("provisioned for a terminated pod on %v", f.prov.nodes)
	}
}

func TestImmediateProvisioning(t *testing.T) {
	retain := corev1.PersistentVolumeReclaimRetain
	class := newClass("fast", fakeProv, storagev1.VolumeBindingImmediate, func(c *storagev1.StorageClass) {
		c.ReclaimPolicy = &retain
		c.MountOptions = []string{"noatime"}
	})
	f := newFixture(t, newClaim("data", "1Gi", withClass("fast")), class)
	f.settle()
	pv := f.volume("pvc-uid-data")
	checkBound(t, f, f.claim("data"), pv)
	checkProvisioned(t, pv, "fast", corev1.PersistentVolumeReclaimRetain)
	if !slices.Equal(pv.Spec.MountOptions, []string{"noatime"}) {
		t.Errorf("mount options %v", pv.Spec.MountOptions)
	}
	if !slices.Equal(f.prov.nodes, []string{""}) {
		t.Errorf("Provision calls %v, want one without a node", f.prov.nodes)
	}
	if _, ok := f.claim("data").Annotations[AnnSelectedNode]; ok {
		t.Error("Immediate binding selects no node")
	}
}

// TestProvisionedVolumeExists: a volume already provisioned for the claim
// (the cache had not seen it) is not provisioned again.
func TestProvisionedVolumeExists(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("fast")), newClass("fast", fakeProv, storagev1.VolumeBindingImmediate))
	existing := newVolume("pvc-uid-data", "1Gi", volClass("fast"), volClaimRef("data", "uid-data"), volPhase(corev1.VolumePending))
	f.refresh()
	_, err := f.client.CoreV1().PersistentVolumes().Create(context.Background(), existing, metav1.CreateOptions{})
	f.check(err)
	if err := f.c.syncClaim(context.Background(), claimKey(ns, "data")); err != nil {
		t.Fatal(err)
	}
	if len(f.prov.nodes) != 0 {
		t.Errorf("provisioned again: %v", f.prov.nodes)
	}
	f.settle()
	checkBound(t, f, f.claim("data"), f.volume("pvc-uid-data"))
}

func TestExternalProvisioner(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("nfs")), newClass("nfs", "example.com/nfs", storagev1.VolumeBindingImmediate))
	f.settle()
	expectEvent(t, f.events(), "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'example.com/nfs'")
	claim := f.claim("data")
	if claim.Annotations[AnnStorageProvisioner] != "example.com/nfs" || claim.Status.Phase != corev1.ClaimPending {
		t.Errorf("claim %v %s", claim.Annotations, claim.Status.Phase)
	}
	if pvs, _ := f.client.CoreV1().PersistentVolumes().List(context.Background(), metav1.ListOptions{}); len(pvs.Items) != 0 {
		t.Errorf("volumes created: %d", len(pvs.Items))
	}
}

func TestMissingClass(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi", withClass("nope")))
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, f.events(), `Warning ProvisioningFailed storageclass.storage.k8s.io "nope" not found`)
}

// TestDeletingClaimNotProvisioned: a claim on its way out gets nothing.
func TestDeletingClaimNotProvisioned(t *testing.T) {
	claim := newClaim("data", "1Gi", withClass("fast"))
	claim.DeletionTimestamp = &metav1.Time{Time: t0}
	f := newFixture(t, claim, newClass("fast", fakeProv, storagev1.VolumeBindingImmediate), newPod("web-0", "n1", "data"))
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	if len(f.prov.nodes) != 0 {
		t.Error("provisioned for a claim being deleted")
	}
}
