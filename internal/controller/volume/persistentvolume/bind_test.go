package persistentvolume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestStaticBinding binds claims of Immediate classes (or none) to the
// best static volume.
func TestStaticBinding(t *testing.T) {
	rwo, rwx := corev1.ReadWriteOnce, corev1.ReadWriteMany
	cases := []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		pvs   []*corev1.PersistentVolume
		want  string // the volume bound, "" for none
	}{
		{"smallest that fits", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-500m", "500Mi"), newVolume("pv-5g", "5Gi"), newVolume("pv-2g", "2Gi"), newVolume("pv-1500m", "1500Mi"),
		}, "pv-1500m"},
		{"exact size", newClaim("data", "1Gi"), []*corev1.PersistentVolume{newVolume("pv-2g", "2Gi"), newVolume("pv-1g", "1Gi")}, "pv-1g"},
		{"fewest access modes before size", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-both", "1Gi", volModes(rwo, rwx)), newVolume("pv-rwo", "3Gi"),
		}, "pv-rwo"},
		{"access modes must cover the claim's", newClaim("data", "1Gi", withModes(rwx)), []*corev1.PersistentVolume{
			newVolume("pv-rwo", "1Gi"), newVolume("pv-both", "5Gi", volModes(rwo, rwx)),
		}, "pv-both"},
		{"class must match", newClaim("data", "1Gi", withClass("fast")), []*corev1.PersistentVolume{
			newVolume("pv-none", "1Gi"), newVolume("pv-slow", "1Gi", volClass("slow")), newVolume("pv-fast", "9Gi", volClass("fast")),
		}, "pv-fast"},
		{"no class takes only class-less volumes", newClaim("data", "1Gi", withClass("")), []*corev1.PersistentVolume{
			newVolume("pv-fast", "1Gi", volClass("fast")),
		}, ""},
		{"selector", newClaim("data", "1Gi", withSelector("tier", "db")), []*corev1.PersistentVolume{
			newVolume("pv-web", "1Gi", volLabels("tier", "web")), newVolume("pv-db", "4Gi", volLabels("tier", "db")), newVolume("pv-plain", "1Gi"),
		}, "pv-db"},
		{"only Available volumes", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-released", "1Gi", volPhase(corev1.VolumeReleased)), newVolume("pv-pending", "1Gi", volPhase(corev1.VolumePending)),
			newVolume("pv-ok", "8Gi"),
		}, "pv-ok"},
		{"volume mode must match", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-block", "1Gi", func(pv *corev1.PersistentVolume) { b := corev1.PersistentVolumeBlock; pv.Spec.VolumeMode = &b }),
		}, ""},
		{"volume pre-bound to another claim is not taken", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-other", "1Gi", volClaimRef("other", "")), newVolume("pv-free", "2Gi"),
		}, "pv-free"},
		{"volume pre-bound to the claim wins over smaller ones", newClaim("data", "1Gi"), []*corev1.PersistentVolume{
			newVolume("pv-small", "1Gi"), newVolume("pv-mine", "5Gi", volClaimRef("data", ""), volClass("elsewhere")),
		}, "pv-mine"},
		{"nothing fits", newClaim("data", "10Gi"), []*corev1.PersistentVolume{newVolume("pv-1g", "1Gi")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{tc.claim}
			for _, pv := range tc.pvs {
				objs = append(objs, pv)
			}
			f := newFixture(t, objs...)
			f.settle()
			claim := f.claim("data")
			if claim.Spec.VolumeName != tc.want {
				t.Fatalf("claim bound to %q, want %q", claim.Spec.VolumeName, tc.want)
			}
			if tc.want == "" {
				if claim.Status.Phase != corev1.ClaimPending {
					t.Errorf("phase %s, want Pending", claim.Status.Phase)
				}
				return
			}
			checkBound(t, f, claim, f.volume(tc.want))
			for _, pv := range tc.pvs {
				if pv.Name != tc.want && f.volume(pv.Name).Status.Phase == corev1.VolumeBound {
					t.Errorf("%s is Bound too", pv.Name)
				}
			}
		})
	}
}

// checkBound checks both halves of a completed binding.
func checkBound(t *testing.T, f *fixture, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) {
	t.Helper()
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != claim.Name || ref.Namespace != claim.Namespace || ref.UID != claim.UID {
		t.Errorf("volume %s", describe(pv))
	}
	if pv.Status.Phase != corev1.VolumeBound || pv.Status.LastPhaseTransitionTime == nil || !pv.Status.LastPhaseTransitionTime.Time.Equal(t0) {
		t.Errorf("volume status %+v", pv.Status)
	}
	if claim.Spec.VolumeName != pv.Name || claim.Annotations[AnnBindCompleted] != "yes" {
		t.Errorf("claim volumeName %q, annotations %v", claim.Spec.VolumeName, claim.Annotations)
	}
	if claim.Status.Phase != corev1.ClaimBound || storage(claim.Status.Capacity) != storage(pv.Spec.Capacity) ||
		len(claim.Status.AccessModes) != len(pv.Spec.AccessModes) {
		t.Errorf("claim status %+v, volume capacity %s", claim.Status, storage(pv.Spec.Capacity))
	}
}

func TestBoundByControllerAnnotations(t *testing.T) {
	t.Run("controller's choice", func(t *testing.T) {
		f := newFixture(t, newClaim("data", "1Gi"), newVolume("pv1", "1Gi"))
		f.settle()
		if f.claim("data").Annotations[AnnBoundByController] != "yes" || f.volume("pv1").Annotations[AnnBoundByController] != "yes" {
			t.Errorf("claim %v, volume %v", f.claim("data").Annotations, f.volume("pv1").Annotations)
		}
	})
	t.Run("volume pre-bound by the user", func(t *testing.T) {
		f := newFixture(t, newClaim("data", "1Gi"), newVolume("pv1", "1Gi", volClaimRef("data", "")))
		f.settle()
		checkBound(t, f, f.claim("data"), f.volume("pv1"))
		if _, ok := f.volume("pv1").Annotations[AnnBoundByController]; ok {
			t.Error("a volume the user pre-bound must not be marked bound-by-controller")
		}
		if f.claim("data").Annotations[AnnBoundByController] != "yes" {
			t.Error("the claim's volumeName was set by the controller")
		}
	})
	t.Run("claim names its volume", func(t *testing.T) {
		f := newFixture(t, newClaim("data", "1Gi", withVolumeName("pv-big")), newVolume("pv-small", "1Gi"), newVolume("pv-big", "9Gi"))
		f.settle()
		claim := f.claim("data")
		checkBound(t, f, claim, f.volume("pv-big"))
		if _, ok := claim.Annotations[AnnBoundByController]; ok {
			t.Error("a claim the user pre-bound must not be marked bound-by-controller")
		}
		if f.volume("pv-small").Status.Phase != corev1.VolumeAvailable {
			t.Error("pv-small must stay Available")
		}
	})
}

func TestPreboundClaimProblems(t *testing.T) {
	cases := []struct {
		name  string
		pv    *corev1.PersistentVolume
		event string
	}{
		{"too small", newVolume("pv1", "500Mi"), `Warning VolumeMismatch Cannot bind to requested volume "pv1": requested PV is too small`},
		{"other class", newVolume("pv1", "1Gi", volClass("x")), `Warning VolumeMismatch Cannot bind to requested volume "pv1": storageClassName does not match`},
		{"other access modes", newVolume("pv1", "1Gi", volModes(corev1.ReadOnlyMany)), `Warning VolumeMismatch Cannot bind to requested volume "pv1": incompatible accessMode`},
		{"bound to another claim", newVolume("pv1", "1Gi", volClaimRef("other", "uid-other"), volPhase(corev1.VolumeBound)),
			`Warning FailedBinding volume "pv1" already bound to a different claim.`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newClaim("data", "1Gi", withVolumeName("pv1")), tc.pv)
			if err := f.syncClaim("data"); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, f.events(), tc.event)
			if claim := f.claim("data"); claim.Status.Phase != corev1.ClaimPending || claim.Annotations[AnnBindCompleted] != "" {
				t.Errorf("claim %+v %v", claim.Status, claim.Annotations)
			}
			if f.volume("pv1").Spec.ClaimRef != nil && f.volume("pv1").Spec.ClaimRef.Name == "data" {
				t.Error("volume was bound")
			}
		})
	}
	t.Run("missing volume", func(t *testing.T) {
		f := newFixture(t, newClaim("data", "1Gi", withVolumeName("pv1")))
		if err := f.syncClaim("data"); err != nil {
			t.Fatal(err)
		}
		if f.claim("data").Status.Phase != corev1.ClaimPending {
			t.Error("claim must stay Pending")
		}
		// The volume appears later: the claim binds.
		_, err := f.client.CoreV1().PersistentVolumes().Create(t.Context(), newVolume("pv1", "1Gi"), metav1CreateOptions)
		f.check(err)
		f.settle()
		checkBound(t, f, f.claim("data"), f.volume("pv1"))
	})
}

func TestNoClassNoVolume(t *testing.T) {
	f := newFixture(t, newClaim("data", "1Gi"))
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, f.events(), "Normal FailedBinding no persistent volumes available for this claim and no storage class is set")
	if f.claim("data").Spec.StorageClassName != nil {
		t.Error("no default class: the claim must keep no class")
	}
}

// TestDefaultClassAssigned: a claim without a class that no volume fits
// gets the default class (the newest, when several are marked) and is
// then provisioned from it.
func TestDefaultClassAssigned(t *testing.T) {
	older := newClass("old-default", "example.com/fake", storagev1.VolumeBindingImmediate, asDefault)
	newer := newClass("standard", "example.com/fake", storagev1.VolumeBindingImmediate, asDefault)
	newer.CreationTimestamp.Time = t0
	f := newFixture(t, newClaim("data", "1Gi"), older, newer, newClass("other", "example.com/fake", storagev1.VolumeBindingImmediate))
	f.settle()
	claim := f.claim("data")
	if claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName != "standard" {
		t.Fatalf("class %v, want standard", claim.Spec.StorageClassName)
	}
	checkBound(t, f, claim, f.volume("pvc-uid-data"))

	// A claim with class "" asks for no class: it is left alone.
	f2 := newFixture(t, newClaim("data", "1Gi", withClass("")), newer)
	f2.settle()
	if c := f2.claim("data"); *c.Spec.StorageClassName != "" || c.Spec.VolumeName != "" {
		t.Errorf("claim with class \"\" changed: %v %q", c.Spec.StorageClassName, c.Spec.VolumeName)
	}
}

func TestLostClaim(t *testing.T) {
	claim := newClaim("data", "1Gi", withVolumeName("pv1"))
	claim.Annotations = map[string]string{AnnBindCompleted: "yes"}
	claim.Status.Phase = corev1.ClaimBound
	f := newFixture(t, claim)
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, f.events(), "Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!")
	if got := f.claim("data"); got.Status.Phase != corev1.ClaimLost || got.Status.Capacity != nil {
		t.Errorf("status %+v", got.Status)
	}
}

func TestMisboundClaim(t *testing.T) {
	claim := newClaim("data", "1Gi", withVolumeName("pv1"))
	claim.Annotations = map[string]string{AnnBindCompleted: "yes"}
	claim.Status.Phase = corev1.ClaimBound
	f := newFixture(t, claim, newVolume("pv1", "1Gi", volClaimRef("other", "uid-other"), volPhase(corev1.VolumeBound)))
	if err := f.syncClaim("data"); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, f.events(), "Warning ClaimMisbound Two claims are bound to the same volume, this one is bound incorrectly")
	if f.claim("data").Status.Phase != corev1.ClaimLost {
		t.Error("claim must be Lost")
	}
}

// TestUnbindVolumeOfClaimBoundElsewhere: a volume the controller bound to
// a claim that ended up bound to another volume is freed; one the user
// pre-bound keeps its claimRef without the UID.
func TestUnbindVolumeOfClaimBoundElsewhere(t *testing.T) {
	claim := newClaim("data", "1Gi", withVolumeName("pv-real"))
	claim.Annotations = map[string]string{AnnBindCompleted: "yes"}
	claim.Status.Phase = corev1.ClaimBound
	byController := newVolume("pv-ctl", "1Gi", volClaimRef("data", "uid-data"), volPhase(corev1.VolumeBound))
	byController.Annotations = map[string]string{AnnBoundByController: "yes"}
	byUser := newVolume("pv-user", "1Gi", volClaimRef("data", "uid-data"), volPhase(corev1.VolumeBound))
	f := newFixture(t, claim, byController, byUser, newVolume("pv-real", "1Gi", volClaimRef("data", "uid-data"), volPhase(corev1.VolumeBound)))
	for _, name := range []string{"pv-ctl", "pv-user"} {
		if err := f.syncVolume(name); err != nil {
			t.Fatal(err)
		}
	}
	if pv := f.volume("pv-ctl"); pv.Spec.ClaimRef != nil || pv.Status.Phase != corev1.VolumeAvailable || pv.Annotations[AnnBoundByController] != "" {
		t.Errorf("pv-ctl: %s %v", describe(pv), pv.Annotations)
	}
	if pv := f.volume("pv-user"); pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "data" || pv.Spec.ClaimRef.UID != "" || pv.Status.Phase != corev1.VolumeAvailable {
		t.Errorf("pv-user: %s", describe(pv))
	}
	if pv := f.volume("pv-real"); pv.Status.Phase != corev1.VolumeBound {
		t.Errorf("pv-real: %s", describe(pv))
	}
}
