package persistentvolume

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestProtectionFinalizersAdded(t *testing.T) {
	claim := newClaim("data", "1Gi", withClass(""))
	claim.Finalizers = nil
	pv := newVolume("pv1", "1Gi", volClass("x"))
	pv.Finalizers = nil
	f := newFixture(t, claim, pv)
	f.settle()
	if got := f.claim("data").Finalizers; !slices.Equal(got, []string{FinalizerPVCProtection}) {
		t.Errorf("claim finalizers %v", got)
	}
	if got := f.volume("pv1").Finalizers; !slices.Equal(got, []string{FinalizerPVProtection}) {
		t.Errorf("volume finalizers %v", got)
	}
}

// TestClaimProtection: a deleted claim stays while a scheduled pod that
// has not terminated uses it.
func TestClaimProtection(t *testing.T) {
	succeeded := newPod("job-0", "n1", "data")
	succeeded.Status.Phase = corev1.PodSucceeded
	forceDeleted := newPod("web-2", "n1", "data")
	forceDeleted.DeletionTimestamp = &metav1.Time{Time: t0}
	forceDeleted.DeletionGracePeriodSeconds = new(int64)
	terminating := newPod("web-3", "n1", "data")
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	grace := int64(30)
	terminating.DeletionGracePeriodSeconds = &grace
	cases := []struct {
		name string
		pods []runtime.Object
		kept bool
	}{
		{"no pods", nil, false},
		{"running pod", []runtime.Object{newPod("web-0", "n1", "data")}, true},
		{"unscheduled pod", []runtime.Object{newPod("web-1", "", "data")}, false},
		{"succeeded pod", []runtime.Object{succeeded}, false},
		{"force-deleted pod", []runtime.Object{forceDeleted}, false},
		{"pod terminating with grace", []runtime.Object{terminating}, true},
		{"pod using another claim", []runtime.Object{newPod("web-0", "n1", "logs")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claim := newClaim("data", "1Gi", withClass(""))
			claim.DeletionTimestamp = &metav1.Time{Time: t0}
			f := newFixture(t, append(tc.pods, claim)...)
			if err := f.syncClaim("data"); err != nil {
				t.Fatal(err)
			}
			_, err := f.client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data", metav1.GetOptions{})
			if kept := err == nil; kept != tc.kept {
				t.Errorf("claim kept = %v, want %v", kept, tc.kept)
			}
		})
	}
}

// TestClaimProtectionAsksTheAPI: a pod the cache has not seen yet still
// keeps the claim.
func TestClaimProtectionAsksTheAPI(t *testing.T) {
	claim := newClaim("data", "1Gi", withClass(""))
	claim.DeletionTimestamp = &metav1.Time{Time: t0}
	f := newFixture(t, claim)
	f.refresh()
	_, err := f.client.CoreV1().Pods(ns).Create(context.Background(), newPod("web-0", "n1", "data"), metav1.CreateOptions{})
	f.check(err)
	if err := f.c.syncClaim(context.Background(), claimKey(ns, "data")); err != nil {
		t.Fatal(err)
	}
	if got := f.claim("data"); !slices.Contains(got.Finalizers, FinalizerPVCProtection) {
		t.Error("finalizer removed while an uncached pod uses the claim")
	}
}

// TestClaimProtectionEndToEnd: deleting a bound claim in use keeps claim
// and volume until the pod finishes.
func TestClaimProtectionEndToEnd(t *testing.T) {
	claim, pv := boundPair("1Gi")
	f := newFixture(t, claim, pv, newPod("web-0", "n1", "data"))
	f.deleteClaim("data")
	f.settle()
	if got := f.claim("data"); got.DeletionTimestamp == nil || got.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim %+v", got.Status)
	}
	if got := f.volume("pv1"); got.Status.Phase != corev1.VolumeBound {
		t.Fatalf("volume %s", describe(got))
	}
	pod, err := f.client.CoreV1().Pods(ns).Get(context.Background(), "web-0", metav1.GetOptions{})
	f.check(err)
	pod.Status.Phase = corev1.PodSucceeded
	_, err = f.client.CoreV1().Pods(ns).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
	f.check(err)
	f.settle()
	if _, err := f.client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "data", metav1.GetOptions{}); err == nil {
		t.Error("claim still there after its pod finished")
	}
	if got := f.volume("pv1"); got.Status.Phase != corev1.VolumeReleased {
		t.Errorf("volume %s", describe(got))
	}
}

// TestVolumeProtection: a deleted volume stays while bound.
func TestVolumeProtection(t *testing.T) {
	claim, pv := boundPair("1Gi")
	f := newFixture(t, claim, pv)
	f.check(f.client.CoreV1().PersistentVolumes().Delete(context.Background(), "pv1", metav1.DeleteOptions{}))
	f.settle()
	if got := f.volume("pv1"); got.DeletionTimestamp == nil || !slices.Equal(got.Finalizers, []string{FinalizerPVProtection}) {
		t.Fatalf("bound volume: deletionTimestamp %v finalizers %v", got.DeletionTimestamp, got.Finalizers)
	}
	checkBound(t, f, f.claim("data"), f.volume("pv1"))
	f.deleteClaim("data")
	f.settle()
	if !f.volumeGone("pv1") {
		t.Errorf("released volume still there: %s %v", describe(f.volume("pv1")), f.volume("pv1").Finalizers)
	}
}
