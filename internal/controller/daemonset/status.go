package daemonset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// statusUpdateRetries is how many times a failed status update is retried
// on a freshly read DaemonSet.
const statusUpdateRetries = 1

// calculateStatus counts s.ds's pods per node into a new status; the pod
// counted on a node is its oldest. next is how long until a ready pod
// becomes available (0 if none is waiting).
func calculateStatus(s *syncState, now time.Time) (st appsv1.DaemonSetStatus, next time.Duration) {
	st = *s.ds.Status.DeepCopy()
	st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled = 0, 0, 0
	st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled = 0, 0, 0
	for _, node := range s.nodes {
		pods := s.byNode[node.Name]
		if !nodePlacement(node, s.ds).shouldRun {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		pods = append(pods[:0:0], pods...)
		sortOldestFirst(pods)
		p := pods[0]
		if isReady(p) {
			st.NumberReady++
			ok, wait := availableAt(p, s.ds.Spec.MinReadySeconds, now)
			if ok {
				st.NumberAvailable++
			} else if wait > 0 && (next == 0 || wait < next) {
				next = wait
			}
		}
		if isUpdated(p, s.ds, s.hash) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	st.ObservedGeneration = s.ds.Generation
	return st, next
}

// updateStatus writes the status of s.ds if it changed, and asks for a
// requeue when a ready pod becomes available.
func (c *Controller) updateStatus(ctx context.Context, s *syncState) error {
	st, next := calculateStatus(s, c.now())
	if next > 0 {
		s.requeueAfter(next + 100*time.Millisecond)
	}
	ds := s.ds
	for i := 0; ; i++ {
		if statusEqual(ds.Status, st) {
			return nil
		}
		fresh := ds.DeepCopy()
		st.CollisionCount = fresh.Status.CollisionCount
		st.Conditions = fresh.Status.Conditions
		fresh.Status = st
		_, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if i >= statusUpdateRetries {
			return fmt.Errorf("update daemonset status: %w", err)
		}
		if ds, err = c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get daemonset: %w", err)
		}
	}
}

func statusEqual(a, b appsv1.DaemonSetStatus) bool {
	return a.ObservedGeneration >= b.ObservedGeneration &&
		a.DesiredNumberScheduled == b.DesiredNumberScheduled &&
		a.CurrentNumberScheduled == b.CurrentNumberScheduled &&
		a.NumberMisscheduled == b.NumberMisscheduled &&
		a.NumberReady == b.NumberReady &&
		a.NumberAvailable == b.NumberAvailable &&
		a.NumberUnavailable == b.NumberUnavailable &&
		a.UpdatedNumberScheduled == b.UpdatedNumberScheduled
}
