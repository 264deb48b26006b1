package statefulset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// newClaim builds the claim of template t for the pod with the given
// ordinal: the template's labels, with the set's matchLabels over them,
// annotations and spec, owned as the retention policy says for a pod
// the set runs.
func newClaim(set *appsv1.StatefulSet, t *corev1.PersistentVolumeClaim, ordinal int) *corev1.PersistentVolumeClaim {
	lbls := maps.Clone(t.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	if set.Spec.Selector != nil {
		maps.Copy(lbls, set.Spec.Selector.MatchLabels)
	}
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name:        claimName(set, t, ordinal),
			Namespace:   set.Namespace,
			Labels:      lbls,
			Annotations: maps.Clone(t.Annotations),
		},
		Spec: *t.Spec.DeepCopy(),
	}
	if policyOf(set).WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)}
	}
	return claim
}

// createClaims creates the claims of pod that do not exist yet. A claim
// being deleted is an error: the pod must not start on a volume that is
// going away.
func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	ord := ordinalOf(pod)
	var errs []error
	for i := range set.Spec.VolumeClaimTemplates {
		claim := newClaim(set, &set.Spec.VolumeClaimTemplates[i], ord)
		existing, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(claim.Name)
		switch {
		case err == nil && existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("%w: %s", errClaimDeleting, claim.Name))
		case err == nil:
		case apierrors.IsNotFound(err):
			_, err = c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, claim, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			c.claimEvent(set, pod, claim.Name, err)
			if err != nil {
				errs = append(errs, fmt.Errorf("create claim %s: %w", claim.Name, err))
			}
		default:
			errs = append(errs, fmt.Errorf("get claim %s: %w", claim.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) claimEvent(set *appsv1.StatefulSet, pod *corev1.Pod, claim string, err error) {
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate",
			"create Claim %s for Pod %s in StatefulSet %s failed error: %s", claim, pod.Name, set.Name, err)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate",
		"create Claim %s Pod %s in StatefulSet %s success", claim, pod.Name, set.Name)
}

// claimsStale says whether a claim of the pod to be created still belongs
// to a former pod of the same name, which only happens when claims are
// deleted on scale down: the garbage collector is about to remove it, and
// the pod must wait for a fresh one.
func (c *Controller) claimsStale(set *appsv1.StatefulSet, ordinal int) (bool, error) {
	if policyOf(set).WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		return false, nil
	}
	pod := &metav1.ObjectMeta{Name: podName(set, ordinal)}
	for i := range set.Spec.VolumeClaimTemplates {
		name := claimName(set, &set.Spec.VolumeClaimTemplates[i], ordinal)
		claim, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("get claim %s: %w", name, err)
		}
		if staleRef(claim, pod, podKind) {
			return true, nil
		}
	}
	return false, nil
}

// syncClaimOwners makes the owner references of pod's claims follow the
// retention policy. Claims that are missing are left to the pod's next
// creation; claims another controller owns are left alone, with an event.
func (c *Controller) syncClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	ord := ordinalOf(pod)
	for i := range set.Spec.VolumeClaimTemplates {
		name := claimName(set, &set.Spec.VolumeClaimTemplates[i], ord)
		claim, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get claim %s: %w", name, err)
		}
		if foreignController(claim, set, pod) {
			c.recorder.Eventf(set, corev1.EventTypeWarning, "ConflictingController",
				"PersistentVolumeClaim %s has a conflicting OwnerReference that acts as a managing controller, the retention policy is ignored for this claim", name)
		}
		refs, changed := claimOwners(claim, set, pod)
		if !changed {
			continue
		}
		claim = claim.DeepCopy()
		claim.OwnerReferences = refs
		if _, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update owners of claim %s: %w", name, err)
		}
	}
	return nil
}

func policyOf(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if rp := set.Spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		if rp.WhenDeleted != "" {
			p.WhenDeleted = rp.WhenDeleted
		}
		if rp.WhenScaled != "" {
			p.WhenScaled = rp.WhenScaled
		}
	}
	return p
}

// claimOwners returns the owner references claim should have and whether
// they differ from its own. The policy's owner is a controller reference:
// the pod once it is scaled away if claims go with it (whenScaled:
// Delete), else the set if claims go with the set (whenDeleted: Delete),
// nobody otherwise. References to former
// objects of the same names mean the claim is the garbage collector's to
// remove, so it is left alone; so is a claim another controller owns,
// after our own references are dropped.
func claimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) ([]metav1.OwnerReference, bool) {
	if staleRef(claim, set, controllerKind) || staleRef(claim, pod, podKind) {
		return claim.OwnerReferences, false
	}
	refs := slices.DeleteFunc(slices.Clone(claim.OwnerReferences), func(r metav1.OwnerReference) bool {
		return refersTo(&r, set, controllerKind) || refersTo(&r, pod, podKind)
	})
	if !foreignController(claim, set, pod) {
		p := policyOf(set)
		scaledAway := !inRange(set, ordinalOf(pod))
		switch {
		case scaledAway && p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
			refs = append(refs, *metav1.NewControllerRef(pod, podKind))
		case p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
			refs = append(refs, *metav1.NewControllerRef(set, controllerKind))
		}
	}
	return refs, !sameOwners(claim.OwnerReferences, refs)
}

// sameOwners compares owner references by UID and controller flag, in any
// order.
func sameOwners(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	want := map[string]bool{}
	for _, r := range a {
		want[string(r.UID)] = r.Controller != nil && *r.Controller
	}
	for _, r := range b {
		ctl, ok := want[string(r.UID)]
		if !ok || ctl != (r.Controller != nil && *r.Controller) {
			return false
		}
	}
	return true
}

// refersTo says whether the reference names obj by kind and name,
// whatever its UID.
func refersTo(r *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return r.APIVersion == gvk.GroupVersion().String() && r.Kind == gvk.Kind && r.Name == obj.GetName()
}

// staleRef says whether claim refers to an object of obj's kind and name
// but another UID: a former set or pod of that name.
func staleRef(claim *corev1.PersistentVolumeClaim, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for i := range claim.OwnerReferences {
		if r := &claim.OwnerReferences[i]; refersTo(r, obj, gvk) {
			return r.UID != obj.GetUID()
		}
	}
	return false
}

// foreignController says whether, under a policy that deletes claims,
// something other than the set or its pod controls claim.
func foreignController(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	p := policyOf(set)
	if p.WhenDeleted == appsv1.RetainPersistentVolumeClaimRetentionPolicyType &&
		p.WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false
	}
	for i := range claim.OwnerReferences {
		r := &claim.OwnerReferences[i]
		if refersTo(r, set, controllerKind) || refersTo(r, pod, podKind) {
			continue
		}
		if r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}
