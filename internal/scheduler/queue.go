package scheduler

import (
	"container/heap"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Back-off of pods that failed to schedule, as kube-scheduler's defaults:
// 1 s doubling to 10 s; a pod nothing moved is retried after 5 minutes.
const (
	initialBackoff       = time.Second
	maxBackoff           = 10 * time.Second
	maxUnschedulableTime = 5 * time.Minute
)

// queuedPod is a pod waiting to be scheduled.
type queuedPod struct {
	pod      *corev1.Pod
	added    time.Time // first seen, for FIFO among equal priorities
	attempts int
	// failed is when the last attempt failed; back-off counts from it.
	failed time.Time
	// backoffUntil is when the pod may leave the back-off queue.
	backoffUntil time.Time
	// unschedulableSince is when it was parked as unschedulable.
	unschedulableSince time.Time
	index              int // in the heap it is in
	// changedInFlight: the pod was updated during its cycle.
	changedInFlight bool
}

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// activeHeap orders pods by priority, then by arrival.
type activeHeap []*queuedPod

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	pi, pj := priority(h[i].pod), priority(h[j].pod)
	if pi != pj {
		return pi > pj
	}
	return h[i].added.Before(h[j].added)
}
func (h activeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *activeHeap) Push(x any)   { q := x.(*queuedPod); q.index = len(*h); *h = append(*h, q) }
func (h *activeHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.index = -1
	return q
}

// backoffHeap orders pods by the end of their back-off.
type backoffHeap []*queuedPod

func (h backoffHeap) Len() int           { return len(h) }
func (h backoffHeap) Less(i, j int) bool { return h[i].backoffUntil.Before(h[j].backoffUntil) }
func (h backoffHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *backoffHeap) Push(x any)        { q := x.(*queuedPod); q.index = len(*h); *h = append(*h, q) }
func (h *backoffHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	q.index = -1
	return q
}

// where a pod is in the queue.
type place int

const (
	inActive place = iota + 1
	inBackoff
	inUnschedulable
	inFlight // popped, being scheduled
)

// queue is the scheduling queue: an active heap popped in priority order,
// a back-off heap for pods that failed recently, and the pods parked as
// unschedulable until a cluster event may have made room for them. Pods
// never wait on a timer to be retried except for back-off.
type queue struct {
	mu   sync.Mutex
	cond *sync.Cond
	now  func() time.Time

	active  activeHeap
	backoff backoffHeap
	unsched map[types.UID]*queuedPod
	pods    map[types.UID]*queuedPod
	where   map[types.UID]place
	// moveSeq counts MoveAll calls; a pod whose cycle began before the
	// latest one goes to back-off, not to the unschedulable pods, as the
	// event may have been the one that lets it fit.
	moveSeq   int64
	popSeq    map[types.UID]int64
	closed    bool
	nominated map[string]map[types.UID]*corev1.Pod // node -> pods nominated to it
	nominee   map[types.UID]string
}

func newQueue(now func() time.Time) *queue {
	q := &queue{
		now: now, unsched: map[types.UID]*queuedPod{}, pods: map[types.UID]*queuedPod{},
		where: map[types.UID]place{}, popSeq: map[types.UID]int64{},
		nominated: map[string]map[types.UID]*corev1.Pod{}, nominee: map[types.UID]string{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues a new pod, or updates a queued one.
func (q *queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominateLocked(pod)
	if qp, ok := q.pods[pod.UID]; ok {
		qp.pod = pod
		switch q.where[pod.UID] {
		case inActive:
			heap.Fix(&q.active, qp.index)
		case inUnschedulable:
			// The pod itself changed: it may fit now.
			delete(q.unsched, pod.UID)
			q.toBackoffOrActive(qp)
		case inFlight:
			qp.changedInFlight = true
		}
		return
	}
	qp := &queuedPod{pod: pod, added: q.now()}
	q.pods[pod.UID] = qp
	q.where[pod.UID] = inActive
	heap.Push(&q.active, qp)
	q.cond.Signal()
}

// Delete forgets a pod.
func (q *queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.unnominateLocked(pod.UID)
	qp, ok := q.pods[pod.UID]
	if !ok {
		return
	}
	switch q.where[pod.UID] {
	case inActive:
		heap.Remove(&q.active, qp.index)
	case inBackoff:
		heap.Remove(&q.backoff, qp.index)
	case inUnschedulable:
		delete(q.unsched, pod.UID)
	}
	delete(q.pods, pod.UID)
	delete(q.where, pod.UID)
	delete(q.popSeq, pod.UID)
}

// Pop blocks for the next pod to schedule; it returns nil once closed.
func (q *queue) Pop() *queuedPod {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.active) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	qp := heap.Pop(&q.active).(*queuedPod)
	qp.attempts++
	q.where[qp.pod.UID] = inFlight
	q.popSeq[qp.pod.UID] = q.moveSeq
	return qp
}

// Done ends a cycle that bound (or gave up on) the pod: it leaves the
// queue unless it changed meanwhile and was re-added.
func (q *queue) Done(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.where[uid] == inFlight {
		delete(q.pods, uid)
		delete(q.where, uid)
		delete(q.popSeq, uid)
	}
}

// Unschedulable parks a pod that did not fit. If a cluster event came
// during its cycle, it backs off instead, to be retried soon.
func (q *queue) Unschedulable(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := qp.pod.UID
	if q.where[uid] != inFlight {
		return // deleted meanwhile
	}
	qp.failed = q.now()
	if q.popSeq[uid] != q.moveSeq || qp.changedInFlight {
		qp.changedInFlight = false
		q.toBackoffOrActive(qp)
		return
	}
	qp.unschedulableSince = qp.failed
	q.where[uid] = inUnschedulable
	q.unsched[uid] = qp
}

// Retry backs off a pod whose cycle failed by error (binding failed).
func (q *queue) Retry(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.where[qp.pod.UID] != inFlight {
		return
	}
	qp.failed = q.now()
	q.toBackoffOrActive(qp)
}

func (q *queue) backoffDuration(qp *queuedPod) time.Duration {
	d := initialBackoff
	for i := 1; i < qp.attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func (q *queue) toBackoffOrActive(qp *queuedPod) {
	if qp.attempts > 0 {
		qp.backoffUntil = qp.failed.Add(q.backoffDuration(qp))
	}
	if qp.attempts == 0 || !qp.backoffUntil.After(q.now()) {
		q.where[qp.pod.UID] = inActive
		heap.Push(&q.active, qp)
		q.cond.Signal()
		return
	}
	q.where[qp.pod.UID] = inBackoff
	heap.Push(&q.backoff, qp)
}

// MoveAll moves the unschedulable pods that match (all with a nil
// filter) to back-off, or to the active heap when their back-off is over:
// a cluster event may have made room for them.
func (q *queue) MoveAll(match func(*queuedPod) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveSeq++
	for uid, qp := range q.unsched {
		if match == nil || match(qp) {
			delete(q.unsched, uid)
			q.toBackoffOrActive(qp)
		}
	}
}

// flush moves pods whose back-off ended to the active heap, and pods
// parked for too long back to back-off. It returns when it should run
// next.
func (q *queue) flush() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for len(q.backoff) > 0 && !q.backoff[0].backoffUntil.After(now) {
		qp := heap.Pop(&q.backoff).(*queuedPod)
		q.where[qp.pod.UID] = inActive
		heap.Push(&q.active, qp)
		q.cond.Signal()
	}
	for uid, qp := range q.unsched {
		if now.Sub(qp.unschedulableSince) >= maxUnschedulableTime {
			delete(q.unsched, uid)
			q.toBackoffOrActive(qp)
		}
	}
	next := time.Second
	if len(q.backoff) > 0 {
		next = min(next, q.backoff[0].backoffUntil.Sub(now))
	}
	return max(next, 10*time.Millisecond)
}

// Close wakes Pop for good.
func (q *queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Len counts the queued pods by place, for metrics and tests.
func (q *queue) Len() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active), len(q.backoff), len(q.unsched)
}

// nominateLocked tracks pods nominated to a node by preemption: the node's
// room is kept for them.
func (q *queue) nominateLocked(pod *corev1.Pod) {
	node := pod.Status.NominatedNodeName
	if old, ok := q.nominee[pod.UID]; ok && old != node {
		q.unnominateLocked(pod.UID)
	}
	if node == "" || pod.Spec.NodeName != "" {
		return
	}
	if q.nominated[node] == nil {
		q.nominated[node] = map[types.UID]*corev1.Pod{}
	}
	q.nominated[node][pod.UID] = pod
	q.nominee[pod.UID] = node
}

func (q *queue) unnominateLocked(uid types.UID) {
	node, ok := q.nominee[uid]
	if !ok {
		return
	}
	delete(q.nominee, uid)
	delete(q.nominated[node], uid)
	if len(q.nominated[node]) == 0 {
		delete(q.nominated, node)
	}
}

// Nominate records (or with node "" clears) a pod's nominated node.
func (q *queue) Nominate(pod *corev1.Pod, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := *pod
	p.Status.NominatedNodeName = node
	q.nominateLocked(&p)
	if node == "" {
		q.unnominateLocked(pod.UID)
	}
}

// NominatedPods returns the pods nominated to node with at least the given
// priority, other than uid.
func (q *queue) NominatedPods(node string, prio int32, uid types.UID) []*corev1.Pod {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*corev1.Pod
	for id, p := range q.nominated[node] {
		if id != uid && priority(p) >= prio {
			out = append(out, p)
		}
	}
	return out
}

// HasNominated says whether any pod is nominated anywhere (cheap check on
// the hot path).
func (q *queue) HasNominated() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.nominee) > 0
}
