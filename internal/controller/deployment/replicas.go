package deployment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// desired is the Deployment's spec.replicas (the API defaults it to 1).
func desired(d *appsv1.Deployment) int32 { return ptr.Deref(d.Spec.Replicas, 1) }

// size is a ReplicaSet's spec.replicas; a missing ReplicaSet has none.
func size(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return ptr.Deref(rs.Spec.Replicas, 1)
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

// resolveFenceposts turns maxSurge and maxUnavailable into pod counts for
// the desired replicas: a surge percentage rounds up, an unavailable one
// down. Both cannot be zero (validation forbids it, but rounding can get
// there): then one pod may be unavailable, since surging may be blocked by
// quota.
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (surge, unavailable int32, err error) {
	zero := intstr.FromInt32(0)
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, zero), int(desired), true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, zero), int(desired), false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

// fenceposts resolves d's rolling update parameters; validation has
// checked them, so errors resolve to zero.
func fenceposts(d *appsv1.Deployment) (surge, unavailable int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		ru = &appsv1.RollingUpdateDeployment{}
	}
	surge, unavailable, _ = resolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, desired(d))
	return surge, unavailable
}

// maxSurge is how many pods above spec.replicas a rolling update may run.
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	surge, _ := fenceposts(d)
	return surge
}

// maxUnavailable is how many of spec.replicas may be unavailable during a
// rolling update, at most all of them.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || desired(d) == 0 {
		return 0
	}
	_, unavailable := fenceposts(d)
	return min(unavailable, desired(d))
}

// newRSNewReplicas is the size the new ReplicaSet may grow to now: for a
// rolling update as far as maxSurge allows over all ReplicaSets, never past
// spec.replicas; for Recreate spec.replicas.
func newRSNewReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (int32, error) {
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		maxTotal := desired(d) + maxSurge(d)
		current := totalSize(allRSs)
		if current >= maxTotal {
			return size(newRS), nil
		}
		up := min(maxTotal-current, desired(d)-size(newRS))
		return size(newRS) + up, nil
	case appsv1.RecreateDeploymentStrategyType:
		return desired(d), nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownStrategy, d.Spec.Strategy.Type)
}

// isSaturated says rs runs all of spec.replicas, available, and both sides
// agree on that number.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	want, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	return ok && size(rs) == desired(d) && want == desired(d) && rs.Status.AvailableReplicas == desired(d)
}

// proportion estimates how many of the replicas being added to (or, when
// negative, removed from) the Deployment rs takes, given how many the
// ReplicaSets before it took already.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || size(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// replicaSetFraction is rs's share of the resized Deployment minus its size:
// its size scaled by the new (replicas + maxSurge) over the one recorded in
// its max-replicas annotation.
func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if desired(d) == 0 {
		return -size(rs)
	}
	newMax := desired(d) + maxSurge(d)
	oldMax, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || oldMax == 0 {
		// Edited by hand: fall back to the current size, which at least
		// stays within the bounds proportion applies.
		oldMax = d.Status.Replicas
		if oldMax == 0 {
			return 0
		}
	}
	scaled := float64(size(rs)) * float64(newMax) / float64(oldMax)
	return int32(math.Round(scaled)) - size(rs)
}

func totalSize(rsList []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rsList {
		n += size(rs)
	}
	return n
}

// statusSums adds up the ReplicaSets' status counts.
func statusSums(rsList []*appsv1.ReplicaSet) (replicas, ready, available int32) {
	for _, rs := range rsList {
		if rs != nil {
			replicas += rs.Status.Replicas
			ready += rs.Status.ReadyReplicas
			available += rs.Status.AvailableReplicas
		}
	}
	return replicas, ready, available
}

// active keeps the ReplicaSets that should run pods.
func active(rsList []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range rsList {
		if rs != nil && size(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// olderFirst orders by creation time, then name.
func olderFirst(a, b *appsv1.ReplicaSet) int {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if a.CreationTimestamp.Before(&b.CreationTimestamp) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Name, b.Name)
}

// biggerOlderFirst orders by size, descending, then older first: the order
// to scale down in.
func biggerOlderFirst(a, b *appsv1.ReplicaSet) int {
	if size(a) != size(b) {
		return int(size(b)) - int(size(a))
	}
	return olderFirst(a, b)
}

// biggerNewerFirst orders by size, descending, then newer first: the order
// to scale up in.
func biggerNewerFirst(a, b *appsv1.ReplicaSet) int {
	if size(a) != size(b) {
		return int(size(b)) - int(size(a))
	}
	return olderFirst(b, a)
}

// byRevision orders by revision, then creation time.
func byRevision(a, b *appsv1.ReplicaSet) int {
	ra, errA := revision(a)
	rb, errB := revision(b)
	if errA != nil || errB != nil || ra == rb {
		return olderFirst(a, b)
	}
	if ra < rb {
		return -1
	}
	return 1
}

// findActiveOrLatest returns the one ReplicaSet running pods, or if none
// does the new one or else the newest; nil when several run pods.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	olds := slices.Clone(oldRSs)
	slices.SortFunc(olds, func(a, b *appsv1.ReplicaSet) int { return olderFirst(b, a) })
	all := active(append(olds, newRS))
	switch len(all) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return olds[0]
	case 1:
		return all[0]
	}
	return nil
}

// findNewReplicaSet returns the ReplicaSet with d's template; the oldest,
// should there be several.
func findNewReplicaSet(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	sorted := slices.Clone(rsList)
	slices.SortFunc(sorted, olderFirst)
	for _, rs := range sorted {
		if equalIgnoreHash(&rs.Spec.Template, &d.Spec.Template) {
			return rs
		}
	}
	return nil
}

// findOldReplicaSets returns all ReplicaSets but the new one, oldest first.
func findOldReplicaSets(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	newRS := findNewReplicaSet(d, rsList)
	sorted := slices.Clone(rsList)
	slices.SortFunc(sorted, olderFirst)
	var old []*appsv1.ReplicaSet
	for _, rs := range sorted {
		if newRS == nil || rs.UID != newRS.UID {
			old = append(old, rs)
		}
	}
	return old
}
