// Package pvmatch decides which PersistentVolume may serve which
// PersistentVolumeClaim, with Kubernetes v1.32's rules: class, capacity
// (the smallest that fits), access modes (the fewest that cover the
// claim's), volume mode, label selector, pre-binding through claimRef and
// the volume's node affinity. The volume controller binds with it and the
// scheduler's VolumeBinding filter checks nodes with it, so both pick the
// same volumes.
package pvmatch

import (
	"errors"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Why a volume does not satisfy a claim, in the controller's words.
var (
	ErrTooSmall         = errors.New("requested PV is too small")
	ErrClassMismatch    = errors.New("storageClassName does not match")
	ErrVolumeMode       = errors.New("incompatible volumeMode")
	ErrAccessMode       = errors.New("incompatible accessMode")
	ErrMarkedForDeleted = errors.New("the volume is marked for deletion")
)

// ClaimClass is the class a claim asks for: the beta annotation, which
// still wins, else spec.storageClassName, else "" (no class).
func ClaimClass(c *corev1.PersistentVolumeClaim) string {
	if name, ok := c.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return name
	}
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return ""
}

// VolumeClass is the class of a volume, read like ClaimClass.
func VolumeClass(pv *corev1.PersistentVolume) string {
	if name, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return name
	}
	return pv.Spec.StorageClassName
}

// HasClass says the claim names a class at all (nil storageClassName and
// no annotation: the default class may still be assigned to it).
func HasClass(c *corev1.PersistentVolumeClaim) bool {
	_, ok := c.Annotations[corev1.BetaStorageClassAnnotation]
	return ok || c.Spec.StorageClassName != nil
}

// IsBoundTo says the volume's claimRef names the claim (and its UID, once
// one is recorded).
func IsBoundTo(pv *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) bool {
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.Name != c.Name || ref.Namespace != c.Namespace {
		return false
	}
	return ref.UID == "" || ref.UID == c.UID
}

// Requested is the storage a claim asks for.
func Requested(c *corev1.PersistentVolumeClaim) int64 {
	q := c.Spec.Resources.Requests[corev1.ResourceStorage]
	return q.Value()
}

// Capacity is a volume's storage capacity.
func Capacity(pv *corev1.PersistentVolume) int64 {
	q := pv.Spec.Capacity[corev1.ResourceStorage]
	return q.Value()
}

// Satisfies checks a volume the claim names in spec.volumeName: not being
// deleted, large enough, same class, same volume mode, access modes
// covered. The error is one of the Err values.
func Satisfies(pv *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) error {
	switch {
	case pv.DeletionTimestamp != nil:
		return ErrMarkedForDeleted
	case Capacity(pv) < Requested(c):
		return ErrTooSmall
	case VolumeClass(pv) != ClaimClass(c):
		return ErrClassMismatch
	case !sameVolumeMode(pv, c):
		return ErrVolumeMode
	case !AccessModesCover(pv.Spec.AccessModes, c.Spec.AccessModes):
		return ErrAccessMode
	}
	return nil
}

// sameVolumeMode compares volume modes, nil meaning Filesystem.
func sameVolumeMode(pv *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) bool {
	mode := func(m *corev1.PersistentVolumeMode) corev1.PersistentVolumeMode {
		if m == nil {
			return corev1.PersistentVolumeFilesystem
		}
		return *m
	}
	return mode(pv.Spec.VolumeMode) == mode(c.Spec.VolumeMode)
}

// AccessModesCover says every mode in want is in have.
func AccessModesCover(have, want []corev1.PersistentVolumeAccessMode) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// distinctModes counts a volume's access modes without duplicates.
func distinctModes(pv *corev1.PersistentVolume) int {
	seen := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range pv.Spec.AccessModes {
		seen[m] = true
	}
	return len(seen)
}

// NodeAffinityAllows says the volume is reachable from a node with these
// labels: it has no required node affinity, or one of its terms matches.
// As in kube-scheduler, only the labels count (matchFields are not
// checked) and a term without expressions matches nothing.
func NodeAffinityAllows(pv *corev1.PersistentVolume, nodeLabels map[string]string) bool {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil {
		return true
	}
	for _, term := range a.Required.NodeSelectorTerms {
		if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
			continue
		}
		sel, ok := termSelector(term.MatchExpressions)
		if ok && sel.Matches(labels.Set(nodeLabels)) {
			return true
		}
	}
	return false
}

// termSelector turns node selector requirements into a label selector.
func termSelector(exprs []corev1.NodeSelectorRequirement) (labels.Selector, bool) {
	ops := map[corev1.NodeSelectorOperator]selection.Operator{
		corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
		corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
		corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
	}
	sel := labels.NewSelector()
	for _, e := range exprs {
		op, ok := ops[e.Operator]
		if !ok {
			return nil, false
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, false
		}
		sel = sel.Add(*r)
	}
	return sel, true
}

// Options narrow Find.
type Options struct {
	// NodeLabels, when not nil, are the labels of the node the claim's
	// consumer runs on: only volumes whose node affinity allows it match.
	NodeLabels map[string]string
	// DelayBinding is set for WaitForFirstConsumer claims: without
	// NodeLabels only a volume pre-bound to the claim matches.
	DelayBinding bool
	// Skip leaves out volumes by name (chosen for another claim already).
	Skip func(name string) bool
}

// Find returns the best volume for an unbound claim, or nil: a volume
// pre-bound to the claim (claimRef) if one fits; else, among Available
// volumes without a claimRef, of the claim's class, matching its selector,
// large enough, of its volume mode and covering its access modes, the one
// with the fewest access modes and then the smallest capacity.
func Find(c *corev1.PersistentVolumeClaim, pvs []*corev1.PersistentVolume, opts Options) *corev1.PersistentVolume {
	return Pick(c, Candidates(c, pvs, opts.DelayBinding && opts.NodeLabels == nil), opts)
}

// Pick is Find over candidates already chosen and ordered by Candidates
// (opts.DelayBinding is not looked at): the first one reachable from the
// node, unless a volume pre-bound to the claim is not.
func Pick(c *corev1.PersistentVolumeClaim, candidates []*corev1.PersistentVolume, opts Options) *corev1.PersistentVolume {
	for _, pv := range candidates {
		if opts.Skip != nil && opts.Skip(pv.Name) {
			continue
		}
		allowed := opts.NodeLabels == nil || NodeAffinityAllows(pv, opts.NodeLabels)
		if IsBoundTo(pv, c) {
			if !allowed {
				return nil // the pre-bound volume is not for this node
			}
			return pv
		}
		if allowed {
			return pv
		}
	}
	return nil
}

// Candidates returns the volumes that could serve the claim on some node,
// best first (pre-bound volumes, then by fewest access modes, smallest
// capacity, name); prebound restricts them to volumes pre-bound to the
// claim. Node affinity is not checked.
func Candidates(c *corev1.PersistentVolumeClaim, pvs []*corev1.PersistentVolume, prebound bool) []*corev1.PersistentVolume {
	sel, selOK := claimSelector(c)
	class := ClaimClass(c)
	want := Requested(c)
	var out []*corev1.PersistentVolume
	for _, pv := range pvs {
		if pv.DeletionTimestamp != nil || Capacity(pv) < want || !sameVolumeMode(pv, c) ||
			!AccessModesCover(pv.Spec.AccessModes, c.Spec.AccessModes) {
			continue
		}
		if IsBoundTo(pv, c) {
			out = append(out, pv)
			continue
		}
		if prebound || pv.Status.Phase != corev1.VolumeAvailable || pv.Spec.ClaimRef != nil ||
			VolumeClass(pv) != class || !selOK || (sel != nil && !sel.Matches(labels.Set(pv.Labels))) {
			continue
		}
		out = append(out, pv)
	}
	sort.SliceStable(out, func(i, j int) bool { return better(out[i], out[j], c) })
	return out
}

// better orders candidates: pre-bound first, then fewer access modes,
// smaller capacity, name.
func better(a, b *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) bool {
	if pa, pb := IsBoundTo(a, c), IsBoundTo(b, c); pa != pb {
		return pa
	}
	if ma, mb := distinctModes(a), distinctModes(b); ma != mb {
		return ma < mb
	}
	if ca, cb := Capacity(a), Capacity(b); ca != cb {
		return ca < cb
	}
	return a.Name < b.Name
}

// claimSelector parses the claim's selector; nil selects everything, and
// ok is false for a selector that does not parse (it matches nothing).
func claimSelector(c *corev1.PersistentVolumeClaim) (labels.Selector, bool) {
	if c.Spec.Selector == nil {
		return nil, true
	}
	sel, err := metav1.LabelSelectorAsSelector(c.Spec.Selector)
	if err != nil {
		return nil, false
	}
	return sel, true
}
