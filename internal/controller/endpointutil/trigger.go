package endpointutil

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimes tracks, per service, the changes already reflected in its
// endpoints, to tell the time of the earliest change a write reflects: the
// endpoints.kubernetes.io/last-change-trigger-time annotation, from which
// network programming latency is measured. A change is a pod's Ready
// condition transition or the service's creation.
type TriggerTimes struct {
	mu sync.Mutex
	m  map[string]triggerState
}

type triggerState struct {
	service time.Time
	pods    map[string]time.Time // by pod name: Ready condition transition
}

// NewTriggerTimes returns an empty tracker.
func NewTriggerTimes() *TriggerTimes {
	return &TriggerTimes{m: map[string]triggerState{}}
}

// Observe returns the earliest time of a change to the service and its
// pods that the last committed sync did not see (zero if none), and the
// commit to call once the endpoints reflecting them are written.
func (t *TriggerTimes) Observe(key string, svc *corev1.Service, pods []*corev1.Pod) (time.Time, func()) {
	next := triggerState{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	for _, p := range pods {
		if c := readyCondition(p); c != nil && !c.LastTransitionTime.IsZero() {
			next.pods[p.Name] = c.LastTransitionTime.Time
		}
	}
	t.mu.Lock()
	prev, seen := t.m[key]
	t.mu.Unlock()
	var earliest time.Time
	consider := func(ts time.Time) {
		if !ts.IsZero() && (earliest.IsZero() || ts.Before(earliest)) {
			earliest = ts
		}
	}
	if !seen || !prev.service.Equal(next.service) {
		consider(next.service)
	}
	for name, ts := range next.pods {
		if old, ok := prev.pods[name]; !ok || !old.Equal(ts) {
			consider(ts)
		}
	}
	return earliest, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.m[key] = next
	}
}

// Forget drops the state of a deleted service.
func (t *TriggerTimes) Forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// SetTriggerTime sets the annotation to ts in UTC, or removes it when ts
// is zero. annotations must not be nil.
func SetTriggerTime(annotations map[string]string, ts time.Time) {
	if ts.IsZero() {
		delete(annotations, corev1.EndpointsLastChangeTriggerTime)
		return
	}
	annotations[corev1.EndpointsLastChangeTriggerTime] = ts.UTC().Format(time.RFC3339Nano)
}
