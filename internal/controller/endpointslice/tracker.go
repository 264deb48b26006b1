package endpointslice

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// sliceTracker remembers, per service, the generation of each slice the
// controller wrote and the slices it deleted, until the informer shows
// them. It tells a sync that the cache predates its last writes, and an
// event handler that an event reports the controller's own write rather
// than someone else's.
type sliceTracker struct {
	mu sync.Mutex
	m  map[string]map[string]expected // service key -> slice name
}

type expected struct {
	generation int64
	deleted    bool
}

func newSliceTracker() *sliceTracker {
	return &sliceTracker{m: map[string]map[string]expected{}}
}

func (t *sliceTracker) set(key, name string, e expected) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[key] == nil {
		t.m[key] = map[string]expected{}
	}
	t.m[key][name] = e
}

// wrote records a slice as the API returned it after a create or update.
func (t *sliceTracker) wrote(key string, s *discoveryv1.EndpointSlice) {
	t.set(key, s.Name, expected{generation: s.Generation})
}

// deleting records the deletion of a slice.
func (t *sliceTracker) deleting(key, name string) {
	t.set(key, name, expected{deleted: true})
}

// stale reports whether the cached slices of the service predate the
// controller's writes: a written slice is missing or older, or a deleted
// one is still there. Deletions the cache shows are forgotten.
func (t *sliceTracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	byName := make(map[string]*discoveryv1.EndpointSlice, len(cached))
	for _, s := range cached {
		byName[s.Name] = s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for name, e := range t.m[key] {
		s, ok := byName[name]
		switch {
		case e.deleted && ok, !e.deleted && (!ok || s.Generation < e.generation):
			return true
		case e.deleted:
			delete(t.m[key], name)
		}
	}
	return false
}

// shouldSync reports whether an added or updated slice is news to the
// controller: not a write of its own, or changed since.
func (t *sliceTracker) shouldSync(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[key][s.Name]
	return !ok || e.deleted || s.Generation > e.generation
}

// deleted forgets a slice the informer reports deleted and reports
// whether the controller did not delete it itself.
func (t *sliceTracker) deleted(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[key][s.Name]
	delete(t.m[key], s.Name)
	if len(t.m[key]) == 0 {
		delete(t.m, key)
	}
	return !ok || !e.deleted
}
