package replicaset

import (
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// phaseOrder ranks phases for deletion: pods earlier in their start-up go
// first. Phases not listed (none should be active) rank with Pending.
var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// podsToDelete picks n of pods to delete, best candidates first, as
// Kubernetes' ReplicaSet controller does. related are the pods whose
// placement counts as crowding: pods of all ReplicaSets with the same
// controller (a Deployment's), or of this ReplicaSet alone.
func podsToDelete(pods, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(pods) {
		return pods
	}
	ranked := rankByColocation(pods, related, now)
	sort.Sort(ranked)
	return ranked.pods[:n]
}

// rankByColocation gives each pod, as its rank, the number of active
// related pods on its node.
func rankByColocation(pods, related []*corev1.Pod, now time.Time) *deletionOrder {
	onNode := map[string]int{}
	for _, p := range related {
		if isActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	o := &deletionOrder{pods: append([]*corev1.Pod(nil), pods...), rank: make([]int, len(pods)), now: now}
	for i, p := range o.pods {
		o.rank[i] = onNode[p.Spec.NodeName]
	}
	return o
}

// deletionOrder sorts pods so that those to delete first come first:
//  1. not yet scheduled before scheduled;
//  2. Pending before Unknown before Running;
//  3. not ready before ready;
//  4. lower pod-deletion-cost annotation first;
//  5. higher rank (more related pods on the same node) first;
//  6. if both ready, ready for less time first;
//  7. more container restarts first;
//  8. created more recently first.
//
// In 6 and 8 times compare on a log2 scale of their age at now, so pods of
// about the same age are equals, ordered by UID, which spreads deletions
// pseudo-randomly among them; a zero time sorts first.
type deletionOrder struct {
	pods []*corev1.Pod
	rank []int
	now  time.Time
}

func (o *deletionOrder) Len() int { return len(o.pods) }

func (o *deletionOrder) Swap(i, j int) {
	o.pods[i], o.pods[j] = o.pods[j], o.pods[i]
	o.rank[i], o.rank[j] = o.rank[j], o.rank[i]
}

func (o *deletionOrder) Less(i, j int) bool {
	a, b := o.pods[i], o.pods[j]
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrder[a.Status.Phase], phaseOrder[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	ra, rb := isReady(a), isReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if o.rank[i] != o.rank[j] {
		return o.rank[i] > o.rank[j]
	}
	if ra && rb {
		ta, tb := readyCondition(a).LastTransitionTime, readyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			return o.newerFirst(a, b, ta, tb)
		}
	}
	if na, nb := maxRestarts(a), maxRestarts(b); na != nb {
		return na > nb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return o.newerFirst(a, b, a.CreationTimestamp, b.CreationTimestamp)
	}
	return false
}

// newerFirst reports whether ta (of pod a) sorts before tb (of pod b):
// zero first, then the younger on a log2 scale, then by UID.
func (o *deletionOrder) newerFirst(a, b *corev1.Pod, ta, tb metav1.Time) bool {
	if ta.IsZero() || tb.IsZero() || o.now.IsZero() {
		if ta.IsZero() || tb.IsZero() {
			return ta.IsZero()
		}
		return ta.After(tb.Time)
	}
	if d := logAge(ta.Time, o.now) - logAge(tb.Time, o.now); d != 0 {
		return d < 0
	}
	return a.UID < b.UID
}

// logAge is floor(log2(age in nanoseconds)), or -1 for a time not in the
// past.
func logAge(t, now time.Time) int64 {
	d := now.Sub(t)
	if d <= 0 {
		return -1
	}
	return int64(math.Log2(float64(d)))
}
