package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// syncState is what one sync of a StatefulSet works from.
type syncState struct {
	key string
	set *appsv1.StatefulSet
	// current is the revision of the pods below the partition and of
	// those not yet updated; update is the revision of the set's template.
	current, update *appsv1.ControllerRevision
	// currentTemplate is the pod template of current.
	currentTemplate *corev1.PodTemplateSpec
	collisions      int32
	// pods are the set's pods with an ordinal; replicas holds those in
	// range by ordinal (nil where one is missing), condemned those out of
	// range, highest ordinal first.
	pods      []*corev1.Pod
	replicas  []*corev1.Pod
	condemned []*corev1.Pod
	// deleted are the pods this sync deleted.
	deleted map[string]bool
	now     time.Time
	// requeue is the shortest wait asked for, for pods becoming available.
	requeue time.Duration
}

func (s *syncState) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

// sync brings the StatefulSet with the given key to its spec and writes
// its status. It returns how long until it wants to be synced again (0:
// no need).
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	set, err := c.setLister.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get statefulset: %w", err)
	}
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		c.log.Warn("invalid or empty selector, skipping", "namespace", ns, "name", name, "err", err)
		return 0, nil
	}
	if set.DeletionTimestamp != nil {
		// The garbage collector removes the pods, and the claims whose
		// policy says so.
		return 0, nil
	}
	revs, err := c.ownedRevisions(ctx, set, sel)
	if err != nil {
		return 0, err
	}
	pods, err := c.claimPods(ctx, set, sel)
	if err != nil {
		return 0, err
	}
	s := &syncState{key: key, set: set, deleted: map[string]bool{}, now: c.now()}
	if set.Status.CollisionCount != nil {
		s.collisions = *set.Status.CollisionCount
	}
	if err := c.resolveRevisions(ctx, s, revs); err != nil {
		return 0, err
	}
	if s.currentTemplate, err = c.templateOf(s); err != nil {
		return 0, err
	}
	s.sortPods(pods)
	var syncErr error
	if c.exp.Satisfied(key) {
		syncErr = c.manage(ctx, s)
	}
	return s.requeue, errors.Join(syncErr, c.updateStatus(ctx, s), c.truncateHistory(ctx, s, revs))
}

// templateOf returns the pod template of the current revision.
func (c *Controller) templateOf(s *syncState) (*corev1.PodTemplateSpec, error) {
	if s.current == s.update {
		return &s.set.Spec.Template, nil
	}
	return revisionTemplate(s.set, s.current)
}

// sortPods files the pods by ordinal into replicas and condemned.
func (s *syncState) sortPods(pods []*corev1.Pod) {
	start := startOrdinal(s.set)
	s.replicas = make([]*corev1.Pod, replicas(s.set))
	for _, p := range pods {
		ord := ordinalOf(p)
		switch {
		case ord < 0:
			continue
		case inRange(s.set, ord):
			s.replicas[ord-start] = p
		default:
			s.condemned = append(s.condemned, p)
		}
		s.pods = append(s.pods, p)
	}
	slices.SortFunc(s.condemned, func(a, b *corev1.Pod) int { return ordinalOf(b) - ordinalOf(a) })
}

// monotonic says whether pods are created, deleted and updated one at a
// time in ordinal order (OrderedReady) rather than all at once (Parallel).
func monotonic(set *appsv1.StatefulSet) bool {
	return set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
}

// newReplica builds the missing pod with the given ordinal: from the
// current revision below the partition (or, without a rolling update
// configuration, below the pods already current), from the update
// revision otherwise.
func (s *syncState) newReplica(ordinal int) *corev1.Pod {
	strategy := s.set.Spec.UpdateStrategy
	start := startOrdinal(s.set)
	old := false
	if strategy.Type == appsv1.RollingUpdateStatefulSetStrategyType || strategy.Type == "" {
		if ru := strategy.RollingUpdate; ru == nil {
			old = ordinal < start+int(s.set.Status.CurrentReplicas)
		} else if ru.Partition != nil {
			old = ordinal < start+int(*ru.Partition)
		}
	}
	if old {
		return newPod(s.set, s.currentTemplate, s.current.Name, ordinal)
	}
	return newPod(s.set, &s.set.Spec.Template, s.update.Name, ordinal)
}
