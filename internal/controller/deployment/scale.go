package deployment

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// scale resizes the ReplicaSets on a scaling event or while paused. With
// one active ReplicaSet (or none) that one gets spec.replicas; with a
// saturated new one the old ones go to zero; otherwise, for a rolling
// update, the change is shared in proportion to their sizes, so a resize
// neither hastens nor undoes the rollout.
func (c *Controller) scale(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if size(rs) == desired(d) {
			return nil
		}
		_, _, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, desired(d), d)
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range active(oldRSs) {
			if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, old, 0, d); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := active(append(slices.Clone(oldRSs), newRS))
	sizes := proportionalSizes(d, all)
	for _, rs := range all {
		if _, _, err := c.scaleReplicaSet(ctx, rs, sizes[rs.Name], d); err != nil {
			return err
		}
	}
	return nil
}

// proportionalSizes spreads the difference between the allowed size
// (replicas + maxSurge) and the active ReplicaSets' total over them by
// their share, biggest first (newer first when growing, older first when
// shrinking); rounding leftovers go to the first. It sorts all in that
// order and returns the new size per name.
func proportionalSizes(d *appsv1.Deployment, all []*appsv1.ReplicaSet) map[string]int32 {
	var allowed int32
	if desired(d) > 0 {
		allowed = desired(d) + maxSurge(d)
	}
	toAdd := allowed - totalSize(all)
	switch {
	case toAdd > 0:
		slices.SortFunc(all, biggerNewerFirst)
	case toAdd < 0:
		slices.SortFunc(all, biggerOlderFirst)
	}
	sizes := make(map[string]int32, len(all))
	var added int32
	for _, rs := range all {
		p := int32(0)
		if toAdd != 0 {
			p = proportion(rs, d, toAdd, added)
		}
		sizes[rs.Name] = size(rs) + p
		added += p
	}
	if len(all) > 0 && toAdd != 0 {
		first := all[0].Name
		sizes[first] = max(sizes[first]+toAdd-added, 0)
	}
	return sizes
}

// scaleReplicaSetAndRecordEvent sets rs's size unless it has it already.
func (c *Controller) scaleReplicaSetAndRecordEvent(ctx context.Context, rs *appsv1.ReplicaSet, n int32, d *appsv1.Deployment) (bool, *appsv1.ReplicaSet, error) {
	if size(rs) == n {
		return false, rs, nil
	}
	return c.scaleReplicaSet(ctx, rs, n, d)
}

// scaleReplicaSet sets rs's size and replicas annotations, recording a
// ScalingReplicaSet event when the size changed.
func (c *Controller) scaleReplicaSet(ctx context.Context, rs *appsv1.ReplicaSet, n int32, d *appsv1.Deployment) (bool, *appsv1.ReplicaSet, error) {
	from := size(rs)
	resize := from != n
	maxReplicas := desired(d) + maxSurge(d)
	if !resize && !replicasAnnotationsNeedUpdate(rs, desired(d), maxReplicas) {
		return false, rs, nil
	}
	cp := rs.DeepCopy()
	cp.Spec.Replicas = &n
	setReplicasAnnotations(cp, desired(d), maxReplicas)
	out, err := c.client.AppsV1().ReplicaSets(cp.Namespace).Update(ctx, cp, metav1.UpdateOptions{})
	if err != nil {
		return false, rs, fmt.Errorf("scale ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	if !resize {
		return false, out, nil
	}
	dir := "up"
	if n < from {
		dir = "down"
	}
	c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", dir, rs.Name, from, n)
	return true, out, nil
}
