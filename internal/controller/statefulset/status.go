package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusUpdateRetries is how many times a failed status update is retried
// on a freshly read StatefulSet.
const statusUpdateRetries = 1

// calculateStatus counts the set's pods into a new status. Pods being
// deleted (or deleted by this sync) count as neither current nor updated.
// next is how long until a ready pod becomes available (0 if none is
// waiting).
func calculateStatus(s *syncState) (st appsv1.StatefulSetStatus, next time.Duration) {
	st = appsv1.StatefulSetStatus{
		ObservedGeneration: s.set.Generation,
		CurrentRevision:    s.current.Name,
		UpdateRevision:     s.update.Name,
		CollisionCount:     &s.collisions,
		Conditions:         s.set.Status.Conditions,
	}
	for _, p := range s.pods {
		st.Replicas++
		if isRunningAndReady(p) {
			st.ReadyReplicas++
			ok, wait := availableAt(p, s.set.Spec.MinReadySeconds, s.now)
			if ok {
				st.AvailableReplicas++
			} else if wait > 0 && (next == 0 || wait < next) {
				next = wait
			}
		}
		if p.DeletionTimestamp != nil || s.deleted[p.Name] {
			continue
		}
		if revisionOf(p) == s.current.Name {
			st.CurrentReplicas++
		}
		if revisionOf(p) == s.update.Name {
			st.UpdatedReplicas++
		}
	}
	completeRollingUpdate(s.set, &st)
	return st, next
}

// completeRollingUpdate makes the update revision current once every pod
// the spec asks for is updated and ready.
func completeRollingUpdate(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	want := int32(replicas(set))
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType ||
		st.UpdatedReplicas != want || st.ReadyReplicas != want || st.Replicas != want {
		return
	}
	st.CurrentReplicas = st.UpdatedReplicas
	st.CurrentRevision = st.UpdateRevision
}

// updateStatus writes the status of s.set if it changed, and asks for a
// requeue when a ready pod becomes available.
func (c *Controller) updateStatus(ctx context.Context, s *syncState) error {
	st, next := calculateStatus(s)
	if next > 0 {
		s.requeueAfter(next + 100*time.Millisecond)
	}
	set := s.set
	for i := 0; ; i++ {
		if statusEqual(set.Status, st) {
			return nil
		}
		fresh := set.DeepCopy()
		st.Conditions = fresh.Status.Conditions
		fresh.Status = st
		_, err := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if i >= statusUpdateRetries {
			return fmt.Errorf("update statefulset status: %w", err)
		}
		if set, err = c.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get statefulset: %w", err)
		}
		if set.UID != s.set.UID {
			return nil
		}
	}
}

func statusEqual(a, b appsv1.StatefulSetStatus) bool {
	return a.ObservedGeneration >= b.ObservedGeneration &&
		a.Replicas == b.Replicas &&
		a.ReadyReplicas == b.ReadyReplicas &&
		a.AvailableReplicas == b.AvailableReplicas &&
		a.CurrentReplicas == b.CurrentReplicas &&
		a.UpdatedReplicas == b.UpdatedReplicas &&
		a.CurrentRevision == b.CurrentRevision &&
		a.UpdateRevision == b.UpdateRevision &&
		collisions(a.CollisionCount) == collisions(b.CollisionCount)
}

func collisions(n *int32) int32 {
	if n == nil {
		return 0
	}
	return *n
}
