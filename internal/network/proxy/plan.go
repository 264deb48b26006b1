package proxy

import "k8s.io/apimachinery/pkg/types"

// plan is an incremental sync: the difference between what the changed
// Services have in the table and what they should have, as the
// operations of one transaction, ordered so that nothing is deleted while
// still referenced and nothing referenced before it exists.
type plan struct {
	s *Syncer

	delElems []elemSpec
	addElems []elemSpec
	// wants are the new renderings' elements, claimed after every
	// Service's stale elements have been released.
	wants []want

	epAdd, epReset, epDel []*epSpec
	chainAdd, chainDel    []*chainSpec
	chainReplace          []replacement

	owners    map[elemKey]*owner // changes to s.owners; nil deletes
	contended map[elemKey]bool
	hairpin   map[[4]byte]int // changes to s.hairpin counts
	refull    bool            // a contended key was released
	slots     slotPlan
}

type want struct {
	svc types.NamespacedName
	e   elemSpec
}

type replacement struct{ old, new *chainSpec }

func newPlan(s *Syncer) *plan {
	return &plan{s: s, owners: map[elemKey]*owner{}, contended: map[elemKey]bool{},
		hairpin: map[[4]byte]int{}, slots: slotPlan{s: &s.slots, added: map[string]uint32{}}}
}

// owner returns the current or planned owner of a key.
func (p *plan) owner(k elemKey) (owner, bool) {
	if o, ok := p.owners[k]; ok {
		if o == nil {
			return owner{}, false
		}
		return *o, true
	}
	o, ok := p.s.owners[k]
	return o, ok
}

// diff plans one Service's change from old to new.
func (p *plan) diff(name types.NamespacedName, old, new *rendering) {
	p.diffChains(old, new)
	p.diffEndpoints(old, new)

	newElems := make(map[elemKey]target, len(new.elems))
	for _, e := range new.elems {
		newElems[e.k] = e.t
	}
	for _, e := range old.elems {
		o, ok := p.owner(e.k)
		if !ok || o.svc != name {
			continue // another Service's, or never installed
		}
		if t, keep := newElems[e.k]; keep && t == o.t {
			continue
		}
		p.delElems = append(p.delElems, elemSpec{e.k, o.t})
		p.owners[e.k] = nil
		if p.s.contended[e.k] {
			p.refull = true
		}
	}
	for _, e := range new.elems {
		p.wants = append(p.wants, want{name, e})
	}
	for _, ip := range old.hairpin {
		p.hairpin[ip]--
	}
	for _, ip := range new.hairpin {
		p.hairpin[ip]++
	}
}

func (p *plan) diffChains(old, new *rendering) {
	was := make(map[string]*chainSpec, len(old.chains))
	for i := range old.chains {
		was[old.chains[i].name] = &old.chains[i]
	}
	for i := range new.chains {
		c := &new.chains[i]
		o, ok := was[c.name]
		delete(was, c.name)
		switch {
		case !ok:
			p.chainAdd = append(p.chainAdd, c)
		case !o.equal(c):
			p.chainReplace = append(p.chainReplace, replacement{o, c})
		}
	}
	for i := range old.chains {
		if _, gone := was[old.chains[i].name]; gone {
			p.chainDel = append(p.chainDel, &old.chains[i])
		}
	}
}

func (p *plan) diffEndpoints(old, new *rendering) {
	was := make(map[string]*epSpec, len(old.eps))
	for i := range old.eps {
		was[old.eps[i].chain] = &old.eps[i]
	}
	for i := range new.eps {
		e := &new.eps[i]
		o, ok := was[e.chain]
		delete(was, e.chain)
		switch {
		case !ok:
			p.epAdd = append(p.epAdd, e)
		case o.timeout != e.timeout:
			p.epReset = append(p.epReset, e)
		}
	}
	for i := range old.eps {
		if _, gone := was[old.eps[i].chain]; gone {
			p.epDel = append(p.epDel, &old.eps[i])
		}
	}
}

// claim gives the wanted elements to their Services, now that all stale
// ones are released; a key another Service holds is left to it.
func (p *plan) claim() {
	for _, w := range p.wants {
		o, ok := p.owner(w.e.k)
		switch {
		case ok && o.svc == w.svc && o.t == w.e.t:
			// unchanged
		case ok && o.svc != w.svc:
			if !p.s.contended[w.e.k] && !p.contended[w.e.k] {
				p.s.logConflict(w.e.k, o.svc, w.svc)
			}
			p.contended[w.e.k] = true
		default:
			p.addElems = append(p.addElems, w.e)
			p.owners[w.e.k] = &owner{svc: w.svc, t: w.e.t}
		}
	}
}

// pickDiff is the change to the pick maps.
type pickDiff struct{ del, add []pick }

// picks diffs the pick map elements of the chains that change, and
// assigns slots to new chains.
func (p *plan) picks() (pickDiff, error) {
	var d pickDiff
	for _, c := range p.chainDel {
		d.del = append(d.del, picks(c, p.slots.of(c.name))...)
		p.slots.release(c.name)
	}
	for _, r := range p.chainReplace {
		slot := p.slots.of(r.new.name)
		del, add := diffPicks(picks(r.old, slot), picks(r.new, slot))
		d.del, d.add = append(d.del, del...), append(d.add, add...)
	}
	for _, c := range p.chainAdd {
		slot, err := p.slots.alloc(c.name)
		if err != nil {
			return d, err
		}
		d.add = append(d.add, picks(c, slot)...)
	}
	return d, nil
}

// diffPicks returns the elements of old to delete and of new to add.
func diffPicks(old, new []pick) (del, add []pick) {
	for i, o := range old {
		if i >= len(new) || new[i] != o {
			del = append(del, o)
		}
	}
	for i, n := range new {
		if i >= len(old) || old[i] != n {
			add = append(add, n)
		}
	}
	return del, add
}

// write adds the plan's operations to b.
func (p *plan) write(b *batch) error {
	pd, err := p.picks()
	if err != nil {
		return err
	}
	w := ruleWriter{b: b, cidr: p.s.cidr}
	addPairs, delPairs := p.hairpinChanges()
	// 1. Stale elements go first: they refer to chains about to change.
	writeElems(b, p.delElems, b.delElems)
	writePicks(b, pd.del, b.delElems)
	b.delElems(setHairpin, hairpinElems(delPairs))
	// 2. Empty the chains that change or go, then delete what is unused.
	for _, r := range p.chainReplace {
		if !sameRules(r.old, r.new) {
			b.flushChain(r.new.name)
		}
	}
	for _, c := range p.chainDel {
		b.flushChain(c.name)
	}
	for _, e := range append(p.epReset, p.epDel...) {
		b.flushChain(e.chain)
	}
	for _, e := range p.epReset {
		b.delSet(e.set)
	}
	for _, c := range p.chainDel {
		b.delChain(c.name)
	}
	for _, e := range p.epDel {
		b.delChain(e.chain)
		b.delSet(e.set)
	}
	// 3. Endpoint chains before the service chains that go to them.
	for _, e := range p.epAdd {
		w.affinitySet(e)
		b.addChain(e.chain, nil)
		w.endpointChain(e)
	}
	for _, e := range p.epReset {
		w.affinitySet(e)
		w.endpointChain(e)
	}
	for _, c := range p.chainAdd {
		b.addChain(c.name, nil)
		w.serviceChain(c, p.slots.of(c.name))
	}
	for _, r := range p.chainReplace {
		if !sameRules(r.old, r.new) {
			w.serviceChain(r.new, p.slots.of(r.new.name))
		}
	}
	// 4. New elements last: they refer to the chains.
	writeElems(b, p.addElems, b.addElems)
	writePicks(b, pd.add, b.addElems)
	b.addElems(setHairpin, hairpinElems(addPairs))
	return nil
}

// hairpinChanges lists the endpoint addresses the hairpin set gains and
// loses.
func (p *plan) hairpinChanges() (add, del [][4]byte) {
	for ip, d := range p.hairpin {
		before := p.s.hairpin[ip]
		switch after := before + d; {
		case before == 0 && after > 0:
			add = append(add, ip)
		case before > 0 && after <= 0:
			del = append(del, ip)
		}
	}
	return add, del
}

// writeElems groups element specs by map.
func writeElems(b *batch, specs []elemSpec, op func(set string, elems []elem)) {
	var byMap [numMaps][]elemSpec
	for _, e := range specs {
		byMap[e.k.m] = append(byMap[e.k.m], e)
	}
	for m := range byMap {
		if len(byMap[m]) > 0 {
			op(mapNames[m], targetElems(byMap[m]))
		}
	}
}

func writePicks(b *batch, ps []pick, op func(set string, elems []elem)) {
	eps, chains := pickElems(ps)
	for i := range pickShards {
		op(endpointMaps[i], eps[i])
		op(endpointChainMaps[i], chains[i])
	}
}

// commit records the plan as applied.
func (p *plan) commit() {
	s := p.s
	for name, ports := range s.pending {
		if len(ports) == 0 {
			delete(s.applied, name)
		} else {
			s.applied[name] = ports
		}
	}
	clear(s.pending)
	for k, o := range p.owners {
		if o == nil {
			delete(s.owners, k)
			delete(s.contended, k)
		} else {
			s.owners[k] = *o
		}
	}
	for k := range p.contended {
		s.contended[k] = true
	}
	for ip, d := range p.hairpin {
		if n := s.hairpin[ip] + d; n > 0 {
			s.hairpin[ip] = n
		} else {
			delete(s.hairpin, ip)
		}
	}
	p.slots.commit()
	// A released key another Service wanted: rebuild, so that it gets it.
	s.full = p.refull
}
