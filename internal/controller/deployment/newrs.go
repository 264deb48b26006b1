package deployment

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replicaSetsAndSyncRevision splits rsList into the new ReplicaSet (with its
// revision brought up to date, created first if create is set and there is
// none) and the old ones.
func (c *Controller) replicaSetsAndSyncRevision(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	oldRSs := findOldReplicaSets(d, rsList)
	newRS, err := c.newReplicaSet(ctx, d, rsList, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

// newReplicaSet returns the ReplicaSet of d's template, nil if there is
// none and create is not set. An existing one gets d's annotations and
// revision max(old)+1 if lower (a rollback to it), and d its revision; a
// created one starts with as many replicas as the strategy allows.
func (c *Controller) newReplicaSet(ctx context.Context, d *appsv1.Deployment, rsList, oldRSs []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, error) {
	newRevision := strconv.FormatInt(maxRevision(oldRSs)+1, 10)
	if existing := findNewReplicaSet(d, rsList); existing != nil {
		rs, err := c.syncNewReplicaSet(ctx, d, existing, newRevision)
		if err != nil {
			return nil, err
		}
		// Later steps of this sync list rsList again: let them see the
		// update rather than the cache's copy.
		if i := slices.Index(rsList, existing); i >= 0 {
			rsList[i] = rs
		}
		return rs, nil
	}
	if !create {
		return nil, nil
	}
	return c.createNewReplicaSet(ctx, d, oldRSs, newRevision)
}

func (c *Controller) syncNewReplicaSet(ctx context.Context, d *appsv1.Deployment, existing *appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	rs := existing.DeepCopy()
	annotated := setNewReplicaSetAnnotations(d, rs, newRevision, true)
	if annotated || rs.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
		// The Deployment's revision follows on the next sync.
		rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
		out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("update ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		return out, nil
	}
	changed := setDeploymentRevision(d, rs.Annotations[RevisionAnnotation])
	// A Deployment that never had a Progressing condition starts its
	// progress clock when its new ReplicaSet is first seen.
	if hasProgressDeadline(d) && getCondition(d.Status, appsv1.DeploymentProgressing) == nil {
		msg := fmt.Sprintf("Found new replica set %q", rs.Name)
		setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewReplicaSet, msg))
		changed = true
	}
	if changed {
		if err := c.writeStatus(ctx, d); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func (c *Controller) createNewReplicaSet(ctx context.Context, d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	rs := newReplicaSetFor(d)
	n, err := newRSNewReplicas(d, append(oldRSs[:len(oldRSs):len(oldRSs)], rs), rs)
	if err != nil {
		return nil, err
	}
	rs.Spec.Replicas = &n
	setNewReplicaSetAnnotations(d, rs, newRevision, false)
	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	exists := apierrors.IsAlreadyExists(err)
	switch {
	case exists:
		// A slow cache, or a collision with another template.
		if created, err = c.adoptExisting(ctx, d, rs, err); err != nil {
			return nil, err
		}
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonReplicaSetCreateError, msg))
			_ = c.writeStatus(ctx, d) // the create error is the one to report
		}
		c.recorder.Event(d, corev1.EventTypeWarning, ReasonReplicaSetCreateError, msg)
		return nil, fmt.Errorf("create ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	if !exists && n > 0 {
		c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, n)
	}
	changed := setDeploymentRevision(d, newRevision)
	if !exists && hasProgressDeadline(d) {
		msg := fmt.Sprintf("Created new replica set %q", created.Name)
		setCondition(&d.Status, c.newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated, msg))
		changed = true
	}
	if changed {
		if err := c.writeStatus(ctx, d); err != nil {
			return created, err
		}
	}
	return created, nil
}

// adoptExisting handles a create that found the name taken: if d controls
// that ReplicaSet and it has d's template, it is the new one; otherwise the
// hash collided, and status.collisionCount goes up so the next sync tries
// another name.
func (c *Controller) adoptExisting(ctx context.Context, d *appsv1.Deployment, want *appsv1.ReplicaSet, createErr error) (*appsv1.ReplicaSet, error) {
	rs, err := c.rsLister.ReplicaSets(want.Namespace).Get(want.Name)
	if err != nil {
		return nil, err
	}
	if ref := metav1.GetControllerOf(rs); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
		return rs, nil
	}
	var prev int32
	if d.Status.CollisionCount != nil {
		prev = *d.Status.CollisionCount
	}
	next := prev + 1
	d.Status.CollisionCount = &next
	if err := c.writeStatus(ctx, d); err == nil {
		c.log.Info("hash collision, bumping collisionCount", "deployment", d.Namespace+"/"+d.Name,
			"replicaSet", want.Name, "collisionCount", next)
	}
	return nil, fmt.Errorf("%w: %w", ErrHashCollision, createErr)
}
