package csi

import (
	"fmt"
	"sort"
	"sync"
)

// Registry holds the CSI drivers registered on the node. It is safe for
// concurrent use.
type Registry struct {
	mu      sync.RWMutex
	drivers map[string]*Driver
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{drivers: map[string]*Driver{}} }

// Lookup returns the driver called name, or an error matching
// ErrDriverNotFound.
func (r *Registry) Lookup(name string) (*Driver, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if d, ok := r.drivers[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("driver name %s %w", name, ErrDriverNotFound)
}

// Names lists the registered drivers, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Add registers d, replacing (and returning) a driver of the same name.
// The caller closes what it gets back.
func (r *Registry) Add(d *Driver) *Driver {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.drivers[d.Name]
	r.drivers[d.Name] = d
	return old
}

// remove unregisters the driver called name if it came through socket,
// and returns it.
func (r *Registry) remove(name, socket string) *Driver {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.drivers[name]
	if d == nil || d.socket != socket {
		return nil
	}
	delete(r.drivers, name)
	return d
}

// holder returns the driver called name when it was registered
// through another socket than socket, or nil.
func (r *Registry) holder(name, socket string) *Driver {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if d := r.drivers[name]; d != nil && d.socket != socket {
		return d
	}
	return nil
}
