package proxy

import "fmt"

// slots hands each service chain a slot: its range of keys in the pick
// maps (see picks).
type slots struct {
	of   map[string]uint32 // by chain name
	free []uint32
	next uint32
}

func newSlots() slots { return slots{of: map[string]uint32{}} }

// slotPlan allocates and releases slots for a plan; commit makes it so.
// Slots released in a plan are reused only after it, so no key is both
// deleted and added in one transaction.
type slotPlan struct {
	s        *slots
	added    map[string]uint32
	released []string
	usedFree int
	next     uint32
}

func (p *slotPlan) of(chain string) uint32 {
	if slot, ok := p.added[chain]; ok {
		return slot
	}
	return p.s.of[chain]
}

func (p *slotPlan) alloc(chain string) (uint32, error) {
	if p.next < p.s.next {
		p.next = p.s.next
	}
	var slot uint32
	switch {
	case p.usedFree < len(p.s.free):
		p.usedFree++
		slot = p.s.free[len(p.s.free)-p.usedFree]
	case p.next < maxSlots:
		slot = p.next
		p.next++
	default:
		return 0, fmt.Errorf("%w: more than %d service chains", ErrNftables, maxSlots)
	}
	p.added[chain] = slot
	return slot, nil
}

func (p *slotPlan) release(chain string) { p.released = append(p.released, chain) }

func (p *slotPlan) commit() {
	s := p.s
	s.free = s.free[:len(s.free)-p.usedFree]
	if p.next > s.next {
		s.next = p.next
	}
	for name, slot := range p.added {
		s.of[name] = slot
	}
	for _, name := range p.released {
		if slot, ok := s.of[name]; ok {
			s.free = append(s.free, slot)
			delete(s.of, name)
		}
	}
}
