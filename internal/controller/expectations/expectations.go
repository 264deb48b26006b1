// Package expectations remembers the pod creates and deletes a controller
// issued until its informer has seen them, as Kubernetes'
// ControllerExpectations: a controller that acted on a stale cache would
// create or delete twice.
package expectations

import (
	"sync"
	"time"
)

// TTL is how long a controller waits for the informer to report
// the creates and deletes it issued before it acts again regardless, as
// Kubernetes' ExpectationsTimeout.
const TTL = 5 * time.Minute

// Expectations records, per controller key (namespace/name), the creates and deletes issued
// and not yet seen in the pod informer. An owner with outstanding
// expectations must not create or delete again: the cache does not yet show what the
// last sync did, and acting on it would create or delete twice.
type Expectations struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]*expectation
}

type expectation struct {
	creates int
	// deletes holds the keys (namespace/name) of pods whose deletion was
	// requested and not yet observed; a deletion counts once however many
	// events report it.
	deletes map[string]struct{}
	setAt   time.Time
}

// New returns empty expectations on the given clock.
func New(now func() time.Time) *Expectations {
	return &Expectations{now: now, m: map[string]*expectation{}}
}

// Satisfied reports whether the owner may create or delete pods: nothing is
// outstanding, nothing was ever recorded, or the record is older than the
// TTL (a watch event may have been lost).
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	return (x.creates <= 0 && len(x.deletes) == 0) || e.now().Sub(x.setAt) > TTL
}

// ExpectCreations replaces the record with n expected creates.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{creates: n, setAt: e.now()}
}

// Expect replaces the record with n expected creates and the deletion of
// the given pods.
func (e *Expectations) Expect(key string, creates int, podKeys []string) {
	set := make(map[string]struct{}, len(podKeys))
	for _, k := range podKeys {
		set[k] = struct{}{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{creates: creates, deletes: set, setAt: e.now()}
}

// ExpectDeletions replaces the record with the deletion of the given pods.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	set := make(map[string]struct{}, len(podKeys))
	for _, k := range podKeys {
		set[k] = struct{}{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{deletes: set, setAt: e.now()}
}

// CreationsObserved lowers the expected creates by n: pods were seen, or
// creates failed or were never attempted.
func (e *Expectations) CreationsObserved(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.creates -= n
	}
}

// DeletionObserved records that the pod is gone or going; pods the record
// does not expect are ignored.
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, podKey)
	}
}

// Forget drops the record, for an owner that was deleted.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
