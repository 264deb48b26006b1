package statefulset

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestClaimPerOrdinalBeforePod(t *testing.T) {
	set := withClaims(newSet("web", 2))
	set.Spec.Template.Spec.Volumes = []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	f := newFixture(t, set)
	f.mustSync("web")
	var order []string
	for _, a := range f.writes() {
		if c, ok := a.(clienttesting.CreateAction); ok && a.GetVerb() == "create" {
			order = append(order, a.GetResource().Resource+"/"+c.GetObject().(metav1.Object).GetName())
		}
	}
	want := []string{"controllerrevisions/" + f.getSet("web").Status.UpdateRevision,
		"persistentvolumeclaims/data-web-0", "pods/web-0"}
	if !slices.Equal(order, want) {
		t.Fatalf("creates = %v, want %v", order, want)
	}
	claim := f.claim("data-web-0")
	if d := cmp.Diff(map[string]string{"tier": "db", "app": "web"}, claim.Labels); d != "" {
		t.Errorf("claim labels (-want +got):\n%s", d)
	}
	if len(claim.OwnerReferences) != 0 {
		t.Errorf("claim owners = %v, want none under Retain", claim.OwnerReferences)
	}
	wantVols := []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-web-0"}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if d := cmp.Diff(wantVols, f.pod("web-0").Spec.Volumes); d != "" {
		t.Errorf("volumes (-want +got):\n%s", d)
	}
	if evs := f.events(); !slices.Contains(evs, "Normal SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success") {
		t.Errorf("events = %v", evs)
	}
	f.ready("web-0")
	f.mustSync("web")
	if got := f.created("persistentvolumeclaims"); !slices.Equal(got, []string{"data-web-1"}) {
		t.Errorf("claims created %v, want [data-web-1]", got)
	}
}

func TestPendingPodGetsMissingClaim(t *testing.T) {
	f := newFixture(t, withClaims(newSet("web", 1)))
	f.mustSync("web")
	f.check(f.client.Tracker().Delete(claimsGVR, ns, "data-web-0"))
	f.mustSync("web")
	if got := f.created("persistentvolumeclaims"); !slices.Equal(got, []string{"data-web-0"}) {
		t.Fatalf("claims created %v for the pending pod, want [data-web-0]", got)
	}
}

func TestClaimBeingDeletedBlocksPod(t *testing.T) {
	claim := newClaim(withClaims(newSet("web", 1)), &withClaims(newSet("web", 1)).Spec.VolumeClaimTemplates[0], 0)
	claim.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	claim.Finalizers = []string{"kubernetes.io/pvc-protection"}
	f := newFixture(t, withClaims(newSet("web", 1)), claim)
	if err := f.sync("web"); err == nil {
		t.Fatal("sync succeeded with the pod's claim being deleted")
	}
	if got := f.created("pods"); len(got) != 0 {
		t.Errorf("created %v on a claim being deleted", got)
	}
}

func TestClaimsRetainedOnScaleDown(t *testing.T) {
	f := newFixture(t, withClaims(newSet("web", 3)))
	for range 3 {
		f.mustSync("web")
		f.readyAll()
	}
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	for range 3 {
		f.mustSync("web")
		if w := f.writes(); slices.ContainsFunc(w, func(a clienttesting.Action) bool {
			return a.GetResource().Resource == "persistentvolumeclaims"
		}) {
			t.Fatalf("claim calls on scale down: %v", w)
		}
	}
	if got := f.podNames(); !slices.Equal(got, []string{"web-0"}) {
		t.Fatalf("pods = %v", got)
	}
	if got := f.claimNames(); !slices.Equal(got, []string{"data-web-0", "data-web-1", "data-web-2"}) {
		t.Fatalf("claims = %v, want all kept", got)
	}
	// Scaling up again reuses the claims.
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](2) })
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-1"}) {
		t.Fatalf("created %v, want [web-1]", got)
	}
	if got := f.created("persistentvolumeclaims"); len(got) != 0 {
		t.Errorf("claims created %v, want data-web-1 reused", got)
	}
}

func TestOrphanClaimAdopted(t *testing.T) {
	set := withClaims(newSet("web", 1))
	set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	orphan := newClaim(newSet("web", 1), &set.Spec.VolumeClaimTemplates[0], 0)
	orphan.UID = "orphan-claim-uid"
	f := newFixture(t, set, orphan)
	f.mustSync("web")
	if got := f.created("persistentvolumeclaims"); len(got) != 0 {
		t.Fatalf("claims created %v, want the existing one reused", got)
	}
	f.mustSync("web")
	c := f.claim("data-web-0")
	if ref := metav1.GetControllerOf(c); ref == nil || ref.UID != set.UID {
		t.Errorf("claim owners = %v, want the set as controller", c.OwnerReferences)
	}
}

func TestClaimRetentionDeleteWhenDeleted(t *testing.T) {
	set := withClaims(newSet("web", 2))
	set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	f := newFixture(t, set)
	for range 2 {
		f.mustSync("web")
		f.readyAll()
	}
	for _, name := range []string{"data-web-0", "data-web-1"} {
		c := f.claim(name)
		if ref := metav1.GetControllerOf(c); ref == nil || ref.Kind != "StatefulSet" || ref.UID != set.UID || len(c.OwnerReferences) != 1 {
			t.Errorf("%s owners = %v, want the set as controller", name, c.OwnerReferences)
		}
	}
	// Scaling down keeps the claim with the set, not the pod.
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	f.mustSync("web")
	if got := f.deleted("pods"); !slices.Equal(got, []string{"web-1"}) {
		t.Fatalf("deleted %v", got)
	}
	if c := f.claim("data-web-1"); len(c.OwnerReferences) != 1 || c.OwnerReferences[0].UID != set.UID {
		t.Errorf("scaled-away claim owners = %v, want only the set", c.OwnerReferences)
	}
}

func TestClaimRetentionDeleteWhenScaled(t *testing.T) {
	set := withClaims(newSet("web", 2))
	set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
	}
	f := newFixture(t, set)
	for range 2 {
		f.mustSync("web")
		f.readyAll()
	}
	pod1 := f.pod("web-1")
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	f.mustSync("web")
	// The claim passes from the set to the pod before the pod goes, so the
	// garbage collector removes it with the pod.
	var updated, deleted int
	for i, a := range f.writes() {
		switch {
		case a.GetVerb() == "update" && a.GetResource().Resource == "persistentvolumeclaims":
			updated = i + 1
		case a.GetVerb() == "delete" && a.GetResource().Resource == "pods":
			deleted = i + 1
		}
	}
	if updated == 0 || deleted == 0 || updated > deleted {
		t.Fatalf("writes = %v, want the claim updated, then web-1 deleted", f.writes())
	}
	c := f.claim("data-web-1")
	if ref := metav1.GetControllerOf(c); len(c.OwnerReferences) != 1 || ref == nil || ref.Kind != "Pod" || ref.UID != pod1.UID {
		t.Errorf("scaled-away claim owners = %v, want only pod web-1", c.OwnerReferences)
	}
	if c := f.claim("data-web-0"); c.OwnerReferences[0].UID != set.UID {
		t.Errorf("claim of web-0 owners = %v, want the set", c.OwnerReferences)
	}

	// Scaled up before the garbage collector ran: web-1 waits for its old
	// claim to go.
	f.updateSet("web", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](2) })
	f.mustSync("web")
	if got := f.created("pods"); len(got) != 0 {
		t.Fatalf("created %v while the claim of the former web-1 remains", got)
	}
	f.check(f.client.Tracker().Delete(claimsGVR, ns, "data-web-1"))
	f.mustSync("web")
	if got := f.created("pods"); !slices.Equal(got, []string{"web-1"}) {
		t.Fatalf("created %v once the claim was collected, want [web-1]", got)
	}
	if c := f.claim("data-web-1"); c.OwnerReferences[0].UID != set.UID {
		t.Errorf("new claim owners = %v, want the set", c.OwnerReferences)
	}
}

func TestClaimWithForeignControllerLeftAlone(t *testing.T) {
	set := withClaims(newSet("web", 1))
	set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	claim := newClaim(newSet("web", 1), &set.Spec.VolumeClaimTemplates[0], 0)
	claim.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "x-uid", Controller: ptr.To(true)}}
	f := newFixture(t, set, claim)
	f.mustSync("web")
	f.ready("web-0")
	f.mustSync("web")
	if got := f.actions("update", "persistentvolumeclaims"); len(got) != 0 {
		t.Errorf("claim updates %v, want none", got)
	}
	if evs := f.events(); !slices.ContainsFunc(evs, func(e string) bool { return len(e) > 30 && e[:30] == "Warning ConflictingController " }) {
		t.Errorf("events = %v, want ConflictingController", evs)
	}
}

func TestClaimOfFormerSetLeftToCollector(t *testing.T) {
	set := withClaims(newSet("web", 1))
	set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	claim := newClaim(set, &set.Spec.VolumeClaimTemplates[0], 0)
	claim.OwnerReferences[0].UID = "former-web-uid"
	f := newFixture(t, set, claim)
	f.mustSync("web")
	f.ready("web-0")
	f.mustSync("web")
	if c := f.claim("data-web-0"); len(c.OwnerReferences) != 1 || c.OwnerReferences[0].UID != "former-web-uid" {
		t.Errorf("claim of the former set now owned by %v", c.OwnerReferences)
	}
}
