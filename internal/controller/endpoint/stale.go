package endpoint

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// staleTracker remembers, per service, the resource version of the
// Endpoints a write replaced ("" when it created them), until the cache
// shows a different one: until then the cache predates the write.
type staleTracker struct {
	mu sync.Mutex
	m  map[string]string
}

func newStaleTracker() *staleTracker { return &staleTracker{m: map[string]string{}} }

// wrote records that a write replaced cur (nil: created the Endpoints).
func (s *staleTracker) wrote(key string, cur *corev1.Endpoints) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = resourceVersion(cur)
}

// isStale reports whether cur, the cached Endpoints of the service (nil
// if none), predates the last write.
func (s *staleTracker) isStale(key string, cur *corev1.Endpoints) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.m[key]
	if !ok {
		return false
	}
	if rv == resourceVersion(cur) {
		return true
	}
	delete(s.m, key)
	return false
}

// forget drops the record, as when the Endpoints are deleted: the cache
// then agrees with the API whatever was written before.
func (s *staleTracker) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

func resourceVersion(ep *corev1.Endpoints) string {
	if ep == nil {
		return ""
	}
	return ep.ResourceVersion
}
