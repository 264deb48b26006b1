package daemonset

import (
	"context"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// rollingParams returns the absolute maxSurge and maxUnavailable of ds for
// desired pods, rounding percentages up; a DaemonSet allowing neither may
// still replace one pod at a time.
func rollingParams(ds *appsv1.DaemonSet, desired int) (surge, unavailable int) {
	var ru *appsv1.RollingUpdateDaemonSet
	if ds.Spec.UpdateStrategy.RollingUpdate != nil {
		ru = ds.Spec.UpdateStrategy.RollingUpdate
	}
	unavailable = 1
	if ru != nil && ru.MaxUnavailable != nil {
		unavailable = scaled(ru.MaxUnavailable, desired)
	}
	if ru != nil && ru.MaxSurge != nil {
		surge = scaled(ru.MaxSurge, desired)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

func scaled(v *intstr.IntOrString, total int) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, true)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// surgeAllowed is ds's absolute maxSurge (0 for OnDelete), judged on a
// total that makes any nonzero percentage count.
func surgeAllowed(ds *appsv1.DaemonSet) int {
	if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return 0
	}
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxSurge == nil {
		return 0
	}
	return scaled(ru.MaxSurge, 1)
}

// nodesForRollout returns the nodes that count in a rollout (those with
// pods of ds and those that should run one), sorted, and those of them
// that should run one.
func nodesForRollout(s *syncState) (names []string, shouldRun map[string]bool) {
	set := map[string]bool{}
	for n := range s.byNode {
		set[n] = true
	}
	shouldRun = map[string]bool{}
	for _, node := range s.nodes {
		if nodePlacement(node, s.ds).shouldRun {
			shouldRun[node.Name] = true
			set[node.Name] = true
		}
	}
	names = make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, shouldRun
}

// podsOnNode splits the live pods of a node into the updated one and the
// old one; ok is false if there is more than one of either (the manage
// step resolves that first).
func podsOnNode(s *syncState, node string) (updated, old *corev1.Pod, ok bool) {
	for _, p := range s.byNode[node] {
		if p.DeletionTimestamp != nil {
			continue
		}
		if isUpdated(p, s.ds, s.hash) {
			if updated != nil {
				return nil, nil, false
			}
			updated = p
			continue
		}
		if old != nil {
			return nil, nil, false
		}
		old = p
	}
	return updated, old, true
}

// rollingUpdate replaces old pods with updated ones: with maxSurge 0 it
// deletes old pods (those unavailable at once, the others while fewer than
// maxUnavailable pods are unavailable) for the manage step to replace; with
// maxSurge it starts updated pods beside old ones and deletes an old pod
// once its replacement is available.
func (c *Controller) rollingUpdate(ctx context.Context, s *syncState) error {
	nodes, shouldRun := nodesForRollout(s)
	surge, maxUnavailable := rollingParams(s.ds, len(shouldRun))
	if surge == 0 {
		return c.syncNodes(ctx, s, c.oldPodsToDelete(s, nodes, maxUnavailable), nil)
	}
	victims, newNodes := c.surgeStep(s, nodes, shouldRun, surge)
	if len(victims) == 0 && len(newNodes) == 0 {
		return nil
	}
	return c.syncNodes(ctx, s, victims, newNodes)
}

func (c *Controller) oldPodsToDelete(s *syncState, nodes []string, maxUnavailable int) []*corev1.Pod {
	now := c.now()
	minReady := s.ds.Spec.MinReadySeconds
	unavailable := 0
	var replaceNow, candidates []*corev1.Pod
	for _, n := range nodes {
		updated, old, ok := podsOnNode(s, n)
		switch {
		case !ok, updated == nil && old == nil, updated != nil && old != nil:
			unavailable++
		case updated != nil:
			if !isAvailable(updated, minReady, now) {
				unavailable++
			}
		case !isAvailable(old, minReady, now):
			replaceNow = append(replaceNow, old)
			unavailable++
		case unavailable < maxUnavailable:
			candidates = append(candidates, old)
		}
	}
	budget := min(max(maxUnavailable-unavailable, 0), len(candidates))
	return append(replaceNow, candidates[:budget]...)
}

// surgeStep returns the old pods to delete (their replacement is
// available, or they are unavailable on a node that no longer qualifies)
// and the nodes to start an updated pod on. Old pods on nodes that no
// longer qualify go only while more pods are available than desired, so
// the DaemonSet never drops below full availability.
func (c *Controller) surgeStep(s *syncState, nodes []string, shouldRun map[string]bool, maxSurge int) (victims []*corev1.Pod, newNodes []string) {
	now := c.now()
	minReady := s.ds.Spec.MinReadySeconds
	surged, available := 0, 0
	var candidates []string
	var sunset []*corev1.Pod
	for _, n := range nodes {
		updated, old, ok := podsOnNode(s, n)
		if !ok {
			surged++
			continue
		}
		if (old != nil && isAvailable(old, minReady, now)) || (old == nil && updated != nil && isAvailable(updated, minReady, now)) {
			available++
		}
		switch {
		case old == nil:
		case updated == nil:
			switch {
			case !isAvailable(old, minReady, now) && !shouldRun[n]:
				victims = append(victims, old)
			case !isAvailable(old, minReady, now):
				newNodes = append(newNodes, n)
			case !shouldRun[n]:
				sunset = append(sunset, old)
			case surged < maxSurge:
				candidates = append(candidates, n)
			}
		case !isAvailable(updated, minReady, now):
			surged++
		default:
			victims = append(victims, old)
		}
	}
	if extra := min(available-len(shouldRun), len(sunset)); extra > 0 {
		victims = append(victims, sunset[:extra]...)
	}
	budget := min(max(maxSurge-surged, 0), len(candidates))
	return victims, append(newNodes, candidates[:budget]...)
}
