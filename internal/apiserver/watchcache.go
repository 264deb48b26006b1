package apiserver

import (
	"context"
	"log/slog"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/store"
)

// cacheEvent is one change to an object, decoded once and shared by every
// watcher of the prefix. Objects are in their stored form and must not be
// mutated.
type cacheEvent struct {
	Type watch.EventType
	// Object is the new state (for deletes, the last state with the
	// deletion's resourceVersion).
	Object runtime.Object
	// Prev is the state before, nil for creates.
	Prev runtime.Object
	Rev  int64
	// Err ends the watch with an error status.
	Err error

	encMu sync.Mutex
	enc   map[string][]byte
}

// encoded returns the object's encoding under key, computing it once.
func (e *cacheEvent) encoded(key string, encode func(runtime.Object) ([]byte, error)) ([]byte, error) {
	e.encMu.Lock()
	defer e.encMu.Unlock()
	if b, ok := e.enc[key]; ok {
		return b, nil
	}
	b, err := encode(e.Object)
	if err != nil {
		return nil, err
	}
	if e.enc == nil {
		e.enc = map[string][]byte{}
	}
	e.enc[key] = b
	return b, nil
}

// cacheSize is how many recent events a cacher keeps for watches that
// resume from a revision.
const cacheSize = 2048

// watcherBuffer is how many events a slow watcher may lag before it is
// closed (the client re-watches from its last revision).
const watcherBuffer = 1024

// cacher keeps one store watch per resource prefix and fans its events out
// to API watchers, keeping the most recent events so watches that resume
// from a recent resourceVersion need no store round-trip.
type cacher struct {
	// base outlives requests: the store watch runs until it ends.
	base   context.Context
	prefix string
	store  *store.Store
	decode func(kv *store.KV) (runtime.Object, error)
	log    *slog.Logger

	mu       sync.Mutex
	started  bool
	ready    chan struct{}
	ring     []*cacheEvent // oldest first
	floor    int64         // every event with Rev > floor is in ring or to come
	lastRev  int64         // newest revision the cacher has seen
	watchers map[*cacheWatcher]struct{}
}

// cacheWatcher receives events with Rev > from.
type cacheWatcher struct {
	ch   chan *cacheEvent
	from int64
	// closed is set under the cacher's lock when ch was closed.
	closed bool
}

func newCacher(base context.Context, prefix string, s *store.Store, decode func(*store.KV) (runtime.Object, error), log *slog.Logger) *cacher {
	return &cacher{base: base, prefix: prefix, store: s, decode: decode, log: log, watchers: map[*cacheWatcher]struct{}{}, ready: make(chan struct{})}
}

// start begins the store watch once; later calls wait until it runs.
func (c *cacher) start(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		select {
		case <-c.ready:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.started = true
	c.mu.Unlock()
	rev, err := c.store.Revision(ctx)
	if err != nil {
		c.mu.Lock()
		c.started = false
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	c.floor, c.lastRev = rev, rev
	c.mu.Unlock()
	go c.run(c.base, rev)
	close(c.ready)
	return nil
}

func (c *cacher) run(ctx context.Context, from int64) {
	for {
		ch := c.store.Watch(ctx, c.prefix, from)
		for ev := range ch {
			if ev.Type == store.EventError {
				c.log.Warn("watch cache: store watch ended", "prefix", c.prefix, "err", ev.Err)
				break
			}
			c.apply(ev)
		}
		if ctx.Err() != nil {
			return
		}
		// The store watch broke (etcd restart, compaction while we lagged):
		// drop history and watchers; clients re-watch and re-list.
		rev, err := c.store.Revision(ctx)
		if err != nil {
			continue
		}
		c.reset(rev)
		from = rev
	}
}

func (c *cacher) reset(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		c.closeLocked(w)
	}
	c.ring, c.floor, c.lastRev = nil, rev, rev
}

func (c *cacher) apply(ev store.Event) {
	if ev.Type == store.EventProgress {
		c.mu.Lock()
		if ev.Revision > c.lastRev {
			c.lastRev = ev.Revision
		}
		c.mu.Unlock()
		return
	}
	ce := &cacheEvent{Rev: ev.Revision}
	var err error
	switch {
	case ev.Type == store.EventDelete:
		ce.Type = watch.Deleted
		ce.Object, err = c.decode(ev.KV)
	case ev.Created:
		ce.Type = watch.Added
		ce.Object, err = c.decode(ev.KV)
	default:
		ce.Type = watch.Modified
		ce.Object, err = c.decode(ev.KV)
		if err == nil && ev.Prev != nil {
			ce.Prev, err = c.decode(ev.Prev)
		}
	}
	if err != nil {
		c.log.Error("watch cache: undecodable object", "key", ev.KV.Key, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastRev = ev.Revision
	if len(c.ring) >= cacheSize {
		c.floor = c.ring[0].Rev
		c.ring[0] = nil
		c.ring = c.ring[1:]
	}
	c.ring = append(c.ring, ce)
	for w := range c.watchers {
		if ce.Rev <= w.from {
			continue
		}
		select {
		case w.ch <- ce:
		default:
			c.closeLocked(w)
		}
	}
}

func (c *cacher) closeLocked(w *cacheWatcher) {
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	delete(c.watchers, w)
}

// watch subscribes to events after revision from. ok is false when the
// cacher's history does not reach back to from; the caller then watches
// the store directly.
func (c *cacher) watch(ctx context.Context, from int64) (*cacheWatcher, bool, error) {
	if err := c.start(ctx); err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// History the store compacted away is not served from the cache
	// either: such a watch gets 410 Gone from the store, as upstream.
	if from < c.floor || from+1 < c.store.CompactedRevision() {
		return nil, false, nil
	}
	w := &cacheWatcher{ch: make(chan *cacheEvent, watcherBuffer+len(c.ring)), from: from}
	for _, ev := range c.ring {
		if ev.Rev > from {
			w.ch <- ev
		}
	}
	c.watchers[w] = struct{}{}
	return w, true, nil
}

// stop unsubscribes w.
func (c *cacher) stop(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(w)
}

// revision returns the newest revision the cacher has seen.
func (c *cacher) revision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRev
}
