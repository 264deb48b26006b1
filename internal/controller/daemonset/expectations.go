package daemonset

import (
	"sync"
	"time"
)

// expectationsTTL is how long a controller waits for the informer to report
// the creates and deletes it issued before it acts again regardless, as
// Kubernetes' ExpectationsTimeout.
const expectationsTTL = 5 * time.Minute

// expectations records, per DaemonSet key, the creates and deletes issued
// and not yet seen in the pod informer. A DaemonSet with outstanding
// expectations is not synced again: the cache does not yet show what the
// last sync did, and acting on it would create or delete twice.
type expectations struct {
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

func newExpectations(now func() time.Time) *expectations {
	return &expectations{now: now, m: map[string]*expectation{}}
}

// satisfied reports whether the DaemonSet may create or delete pods: nothing is
// outstanding, nothing was ever recorded, or the record is older than the
// TTL (a watch event may have been lost).
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	return (x.creates <= 0 && len(x.deletes) == 0) || e.now().Sub(x.setAt) > expectationsTTL
}

// expect replaces the record with n expected creates and the deletion of
// the given pods.
func (e *expectations) expect(key string, creates int, podKeys []string) {
	set := make(map[string]struct{}, len(podKeys))
	for _, k := range podKeys {
		set[k] = struct{}{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{creates: creates, deletes: set, setAt: e.now()}
}

// creationsObserved lowers the expected creates by n: pods were seen, or
// creates failed or were never attempted.
func (e *expectations) creationsObserved(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.creates -= n
	}
}

// deletionObserved records that the pod is gone or going; pods the record
// does not expect are ignored.
func (e *expectations) deletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletes, podKey)
	}
}

// forget drops the record, for a DaemonSet that was deleted.
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
