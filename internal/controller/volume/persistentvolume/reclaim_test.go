package persistentvolume

import (
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// boundPair is a claim and volume bound to each other.
func boundPair(size string, pvOpts ...volumeOpt) (*corev1.PersistentVolumeClaim, *corev1.PersistentVolume) {
	claim := newClaim("data", size, withVolumeName("pv1"))
	claim.Annotations = map[string]string{AnnBindCompleted: "yes"}
	claim.Status.Phase = corev1.ClaimBound
	pv := newVolume("pv1", size, append([]volumeOpt{volClaimRef("data", "uid-data"), volPhase(corev1.VolumeBound)}, pvOpts...)...)
	claim.Status.Capacity = pv.Spec.Capacity.DeepCopy()
	claim.Status.AccessModes = pv.Spec.AccessModes
	pv.Status.LastPhaseTransitionTime = &metav1.Time{Time: t0}
	return claim, pv
}

func provisionedBy(name string) volumeOpt {
	return func(pv *corev1.PersistentVolume) {
		if pv.Annotations == nil {
			pv.Annotations = map[string]string{}
		}
		pv.Annotations[AnnProvisionedBy] = name
	}
}

func TestReclaimDelete(t *testing.T) {
	claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete), provisionedBy(fakeProv),
		func(pv *corev1.PersistentVolume) { pv.Finalizers = append(pv.Finalizers, "example.com/cleanup") })
	f := newFixture(t, claim, pv)
	f.settle()
	if f.volume("pv1").Status.Phase != corev1.VolumeBound {
		t.Fatal("volume must stay Bound while the claim exists")
	}
	f.deleteClaim("data")
	f.settle()
	if !slices.Equal(f.prov.deleted, []string{"pv1"}) {
		t.Errorf("provisioner deleted %v, want [pv1]", f.prov.deleted)
	}
	// The object is being deleted; only the provisioner's own finalizer
	// (here standing in for the node agent's) holds it.
	got := f.volume("pv1")
	if got.DeletionTimestamp == nil || !slices.Equal(got.Finalizers, []string{"example.com/cleanup"}) {
		t.Errorf("volume deletionTimestamp %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
	}
	if got.Status.Phase != corev1.VolumeReleased {
		t.Errorf("phase %s, want Released", got.Status.Phase)
	}
}

func TestReclaimDeleteWithoutFinalizersRemovesObject(t *testing.T) {
	claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete), provisionedBy(fakeProv))
	f := newFixture(t, claim, pv)
	f.deleteClaim("data")
	f.settle()
	if !f.volumeGone("pv1") {
		t.Errorf("volume still there: %s %v", describe(f.volume("pv1")), f.volume("pv1").Finalizers)
	}
}

func TestReclaimDeleteFailure(t *testing.T) {
	claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete), provisionedBy(fakeProv))
	f := newFixture(t, claim, pv)
	f.prov.failDelete = errors.New("disk on fire")
	f.deleteClaim("data")
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	if err := f.syncVolume("pv1"); err == nil {
		t.Error("a failed delete must be retried")
	}
	got := f.volume("pv1")
	if got.Status.Phase != corev1.VolumeFailed || got.Status.Message != "disk on fire" || got.DeletionTimestamp != nil {
		t.Errorf("status %+v", got.Status)
	}
	expectEvent(t, f.events(), "Warning VolumeFailedDelete disk on fire")
	// Once the provisioner recovers, the Failed volume is deleted.
	f.prov.failDelete = nil
	f.settle()
	if !f.volumeGone("pv1") {
		t.Errorf("volume not deleted after recovery: %s", describe(f.volume("pv1")))
	}
}

func TestReclaimRetain(t *testing.T) {
	claim, pv := boundPair("1Gi", provisionedBy(fakeProv))
	f := newFixture(t, claim, pv)
	f.deleteClaim("data")
	f.settle()
	got := f.volume("pv1")
	if got.Status.Phase != corev1.VolumeReleased || got.DeletionTimestamp != nil || len(f.prov.deleted) != 0 {
		t.Errorf("%s deleting=%v provisioner deleted %v", describe(got), got.DeletionTimestamp != nil, f.prov.deleted)
	}
	if got.Spec.ClaimRef == nil || got.Spec.ClaimRef.Name != "data" {
		t.Error("a Released volume keeps its claimRef")
	}
	// A new claim of the same name does not get the Released volume.
	_, err := f.client.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), func() *corev1.PersistentVolumeClaim {
		c := newClaim("data", "1Gi")
		c.UID = "uid-data-2"
		return c
	}(), metav1CreateOptions)
	f.check(err)
	f.settle()
	if f.claim("data").Spec.VolumeName != "" || f.volume("pv1").Status.Phase != corev1.VolumeReleased {
		t.Errorf("released volume rebound: %s", describe(f.volume("pv1")))
	}
}

func TestReclaimStaticDelete(t *testing.T) {
	claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete))
	f := newFixture(t, claim, pv)
	f.deleteClaim("data")
	f.settle()
	got := f.volume("pv1")
	want := `error getting deleter volume plugin for volume "pv1": no deletable volume plugin matched`
	if got.Status.Phase != corev1.VolumeFailed || got.Status.Message != want {
		t.Errorf("status %+v", got.Status)
	}
	events := f.events()
	expectEvent(t, events, "Warning VolumeFailedDelete "+want)
	if n := len(events); n != 1 {
		t.Errorf("%d events, want 1 (no repeat while Failed): %q", n, events)
	}
}

func TestReclaimExternalAndRecycle(t *testing.T) {
	t.Run("external provisioner", func(t *testing.T) {
		claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete), provisionedBy("example.com/nfs"))
		f := newFixture(t, claim, pv)
		f.deleteClaim("data")
		f.settle()
		if got := f.volume("pv1"); got.Status.Phase != corev1.VolumeReleased || got.DeletionTimestamp != nil {
			t.Errorf("an external provisioner's volume is left to it: %s", describe(got))
		}
	})
	t.Run("recycle", func(t *testing.T) {
		claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimRecycle))
		f := newFixture(t, claim, pv)
		f.deleteClaim("data")
		f.settle()
		if got := f.volume("pv1"); got.Status.Phase != corev1.VolumeFailed {
			t.Errorf("recycle: %s", describe(got))
		}
		expectEvent(t, f.events(), "Warning VolumeFailedRecycle No recycler plugin found for the volume!")
	})
}

// TestProvisionedForClaimBoundElsewhere: a volume provisioned for a claim
// that then bound to another volume is deleted.
func TestProvisionedForClaimBoundElsewhere(t *testing.T) {
	claim, pv := boundPair("1Gi")
	extra := newVolume("pvc-uid-data", "1Gi", volClaimRef("data", "uid-data"), volPolicy(corev1.PersistentVolumeReclaimDelete),
		provisionedBy(fakeProv), volPhase(corev1.VolumePending))
	f := newFixture(t, claim, pv, extra)
	f.settle()
	if !f.volumeGone("pvc-uid-data") || !slices.Equal(f.prov.deleted, []string{"pvc-uid-data"}) {
		t.Errorf("unneeded volume kept; provisioner deleted %v", f.prov.deleted)
	}
	checkBound(t, f, f.claim("data"), f.volume("pv1"))
}

func TestVolumePhases(t *testing.T) {
	cases := []struct {
		pv   *corev1.PersistentVolume
		objs []runtime.Object
		want corev1.PersistentVolumePhase
	}{
		{newVolume("pv1", "1Gi", volPhase(corev1.VolumePending)), nil, corev1.VolumeAvailable},
		{newVolume("pv1", "1Gi", volPhase(corev1.VolumePending), volClaimRef("data", "")), nil, corev1.VolumeAvailable},
		{newVolume("pv1", "1Gi", volPhase(corev1.VolumeBound), volClaimRef("gone", "uid-gone")), nil, corev1.VolumeReleased},
		{newVolume("pv1", "1Gi", volPhase(corev1.VolumeAvailable), volClaimRef("data", "uid-data")),
			[]runtime.Object{newClaim("data", "1Gi", withVolumeName("pv1"))}, corev1.VolumeBound},
	}
	for _, tc := range cases {
		t.Run(describe(tc.pv), func(t *testing.T) {
			f := newFixture(t, append(tc.objs, tc.pv)...)
			if err := f.syncVolume("pv1"); err != nil {
				t.Fatal(err)
			}
			if got := f.volume("pv1"); got.Status.Phase != tc.want {
				t.Errorf("phase %s, want %s", got.Status.Phase, tc.want)
			}
		})
	}
}

func TestExpansion(t *testing.T) {
	grow := func(f *fixture) {
		f.t.Helper()
		claim := f.claim("data")
		claim.Spec.Resources.Requests[corev1.ResourceStorage] = mustQuantity("3Gi")
		_, err := f.client.CoreV1().PersistentVolumeClaims(ns).Update(t.Context(), claim, metav1UpdateOptions)
		f.check(err)
		f.settle()
	}
	t.Run("allowed", func(t *testing.T) {
		claim, pv := boundPair("1Gi", provisionedBy(fakeProv), volClass("local"))
		claim.Spec.StorageClassName = &pv.Spec.StorageClassName
		f := newFixture(t, claim, pv, newClass("local", fakeProv, storagev1.VolumeBindingWaitForFirstConsumer, expandable))
		grow(f)
		if got := storage(f.volume("pv1").Spec.Capacity); got != "3Gi" {
			t.Errorf("volume capacity %s", got)
		}
		if got := storage(f.claim("data").Status.Capacity); got != "3Gi" {
			t.Errorf("claim capacity %s", got)
		}
		if !slices.Equal(f.prov.expanded, []string{"3Gi"}) {
			t.Errorf("Expand calls %v", f.prov.expanded)
		}
		expectEvent(t, f.events(), "Normal VolumeResizeSuccessful")
	})
	t.Run("class does not allow it", func(t *testing.T) {
		claim, pv := boundPair("1Gi", provisionedBy(fakeProv), volClass("local"))
		claim.Spec.StorageClassName = &pv.Spec.StorageClassName
		f := newFixture(t, claim, pv, newClass("local", fakeProv, storagev1.VolumeBindingWaitForFirstConsumer))
		grow(f)
		f.settle()
		if got := storage(f.volume("pv1").Spec.Capacity); got != "1Gi" {
			t.Errorf("volume capacity %s", got)
		}
		if got := storage(f.claim("data").Status.Capacity); got != "1Gi" {
			t.Errorf("claim capacity %s", got)
		}
		events := f.events()
		expectEvent(t, events, "Warning VolumeResizeFailed only dynamically provisioned pvc can be resized")
		if len(events) != 1 {
			t.Errorf("warned %d times: %q", len(events), events)
		}
	})
	t.Run("static volume large enough", func(t *testing.T) {
		claim, pv := boundPair("1Gi")
		pv.Spec.Capacity[corev1.ResourceStorage] = mustQuantity("5Gi")
		claim.Status.Capacity = pv.Spec.Capacity.DeepCopy()
		f := newFixture(t, claim, pv)
		grow(f)
		if got := storage(f.claim("data").Status.Capacity); got != "5Gi" {
			t.Errorf("claim capacity %s", got)
		}
		expectNoEvent(t, f.events(), reasonResizeFailed)
	})
}

// TestClaimMissingFromCacheNotReleased: a bound volume whose claim the
// cache has not seen yet is not released: the API is asked first.
func TestClaimMissingFromCacheNotReleased(t *testing.T) {
	claim, pv := boundPair("1Gi", volPolicy(corev1.PersistentVolumeReclaimDelete), provisionedBy(fakeProv))
	f := newFixture(t, pv)
	f.refresh()
	_, err := f.client.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), claim, metav1CreateOptions)
	f.check(err)
	if err := f.c.syncVolume(t.Context(), "pv1"); err != nil {
		t.Fatal(err)
	}
	if got := f.volume("pv1"); got.Status.Phase != corev1.VolumeBound || len(f.prov.deleted) != 0 {
		t.Errorf("volume %s, provisioner deleted %v", describe(got), f.prov.deleted)
	}
}
