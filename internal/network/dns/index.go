package dns

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// svcKey names a Service. Lookups build it from substrings of the query
// name, so a hit allocates nothing.
type svcKey struct{ ns, name string }

// index is what queries read: one immutable entry per Service, how many
// services each namespace has (a namespace with services is an empty
// non-terminal, not NXDOMAIN), and the reverse records.
type index struct {
	mu         sync.RWMutex
	services   map[svcKey]*entry
	namespaces map[string]int
	ptr        map[netip.Addr][]string // copy on write: readers keep the slice

	serial atomic.Uint32 // SOA serial, moves with every change
}

func newIndex() *index {
	ix := &index{
		services:   map[svcKey]*entry{},
		namespaces: map[string]int{},
		ptr:        map[netip.Addr][]string{},
	}
	ix.serial.Store(uint32(time.Now().Unix()))
	return ix
}

func (ix *index) service(k svcKey) *entry {
	ix.mu.RLock()
	e := ix.services[k]
	ix.mu.RUnlock()
	return e
}

func (ix *index) hasNamespace(ns string) bool {
	ix.mu.RLock()
	n := ix.namespaces[ns]
	ix.mu.RUnlock()
	return n > 0
}

// reverse returns the names that own ip; the caller must not modify the
// slice.
func (ix *index) reverse(ip netip.Addr) []string {
	ix.mu.RLock()
	names := ix.ptr[ip]
	ix.mu.RUnlock()
	return names
}

// set replaces the entry of k; nil removes it.
func (ix *index) set(k svcKey, e *entry) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	old := ix.services[k]
	if old != nil {
		for _, p := range old.ptrs {
			ix.removePTR(p)
		}
	}
	switch {
	case e == nil && old != nil:
		delete(ix.services, k)
		if ix.namespaces[k.ns]--; ix.namespaces[k.ns] <= 0 {
			delete(ix.namespaces, k.ns)
		}
	case e != nil:
		if old == nil {
			ix.namespaces[k.ns]++
		}
		ix.services[k] = e
		for _, p := range e.ptrs {
			ix.addPTR(p)
		}
	}
	ix.serial.Add(1)
}

func (ix *index) addPTR(p ptrRec) {
	names := ix.ptr[p.ip]
	if slices.Contains(names, p.name) {
		return
	}
	next := make([]string, len(names), len(names)+1)
	copy(next, names)
	ix.ptr[p.ip] = append(next, p.name)
}

func (ix *index) removePTR(p ptrRec) {
	names := ix.ptr[p.ip]
	i := slices.Index(names, p.name)
	if i < 0 {
		return
	}
	if len(names) == 1 {
		delete(ix.ptr, p.ip)
		return
	}
	next := make([]string, 0, len(names)-1)
	next = append(next, names[:i]...)
	ix.ptr[p.ip] = append(next, names[i+1:]...)
}

// counts reports the size of the index, for logs and tests.
func (ix *index) counts() (services, ptrs int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.services), len(ix.ptr)
}
