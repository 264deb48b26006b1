package deployment

import (
	"context"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling moves a RollingUpdate one step: scale the new ReplicaSet
// up within maxSurge, else scale old ones down within maxUnavailable, else,
// once complete, prune history; then report status.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.replicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := append(slices.Clone(oldRSs), newRS)
	scaledUp, err := c.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, allRSs, active(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

// reconcileNewReplicaSet grows the new ReplicaSet as far as maxSurge allows,
// or shrinks it to spec.replicas.
func (c *Controller) reconcileNewReplicaSet(ctx context.Context, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	switch {
	case size(newRS) == desired(d):
		return false, nil
	case size(newRS) > desired(d):
		scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, desired(d), d)
		return scaled, err
	}
	n, err := newRSNewReplicas(d, allRSs, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, n, d)
	return scaled, err
}

// reconcileOldReplicaSets shrinks the old ReplicaSets: first their
// unavailable pods, which costs no availability, then available ones as far
// as maxUnavailable allows. The new ReplicaSet's unavailable pods count
// against that, so a broken new template cannot drain the old pods: with
// 10 replicas, maxUnavailable 2 and maxSurge 3, 13 pods and 5 new ones
// crash-looping, 13 - 8 - 5 = 0 old pods may go.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if totalSize(oldRSs) == 0 {
		return false, nil
	}
	minAvailable := desired(d) - maxUnavailable(d)
	newUnavailable := size(newRS) - newRS.Status.AvailableReplicas
	maxScaledDown := totalSize(allRSs) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := c.cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	scaledDown, err := c.scaleDownOldReplicaSetsForRollingUpdate(ctx, append(slices.Clone(oldRSs), newRS), oldRSs, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaledDown > 0, nil
}

// cleanupUnhealthyReplicas scales old ReplicaSets down by their
// unavailable pods, oldest first, at most maxCleanup in all. The
// ReplicaSet controller deletes not-ready pods first, so availability
// does not drop. It returns oldRSs with the scaled ones replaced.
func (c *Controller) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	oldRSs = slices.Clone(oldRSs)
	slices.SortFunc(oldRSs, olderFirst)
	var total int32
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		unhealthy := size(rs) - rs.Status.AvailableReplicas
		if size(rs) == 0 || unhealthy <= 0 {
			continue
		}
		down := min(maxCleanup-total, unhealthy)
		_, out, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, size(rs)-down, d)
		if err != nil {
			return nil, total, err
		}
		total += down
		oldRSs[i] = out
	}
	return oldRSs, total, nil
}

// scaleDownOldReplicaSetsForRollingUpdate scales old ReplicaSets down,
// oldest first, by as many pods as are available above
// spec.replicas - maxUnavailable.
func (c *Controller) scaleDownOldReplicaSetsForRollingUpdate(ctx context.Context, allRSs, oldRSs []*appsv1.ReplicaSet, d *appsv1.Deployment) (int32, error) {
	minAvailable := desired(d) - maxUnavailable(d)
	_, _, available := statusSums(allRSs)
	if available <= minAvailable {
		return 0, nil
	}
	oldRSs = slices.Clone(oldRSs)
	slices.SortFunc(oldRSs, olderFirst)
	budget := available - minAvailable
	var total int32
	for _, rs := range oldRSs {
		if total >= budget {
			break
		}
		if size(rs) == 0 {
			continue
		}
		down := min(size(rs), budget-total)
		if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, size(rs)-down, d); err != nil {
			return total, err
		}
		total += down
	}
	return total, nil
}
