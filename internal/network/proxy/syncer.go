package proxy

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Syncer keeps one nftables table in step with a set of Services: the
// part of the Proxier that writes rules, usable without an API server
// (tests, benchmarks). Stage changes with SetService and DeleteService,
// then apply them with Sync. The first Sync, and the one after a failed
// Sync, replaces the whole table in one transaction; the others rewrite
// only the chains and map elements of the Services that changed. A Syncer
// is not safe for concurrent use.
type Syncer struct {
	table string
	cidr  *net.IPNet
	node  string
	conn  *nlConn
	send  func(*batch) error // conn.send; tests record instead
	flows flowCleaner
	log   *slog.Logger

	// applied is what the kernel has, pending what it should get.
	applied map[types.NamespacedName][]*svcPort
	pending map[types.NamespacedName][]*svcPort
	// owners says which Service put each map element in; two Services
	// may claim the same key (external IPs are not unique), then the
	// first keeps it and the key is contended.
	owners    map[elemKey]owner
	contended map[elemKey]bool
	// hairpin counts the Services using each endpoint address.
	hairpin map[[4]byte]int
	slots   slots
	full    bool
}

type owner struct {
	svc types.NamespacedName
	t   target
}

// SyncStats describes one Sync.
type SyncStats struct {
	// Full is true for a sync that replaced the whole table.
	Full bool
	// Services is the number of Services whose rules were written.
	Services int
	// Messages and Bytes measure the netlink transaction.
	Messages int
	Bytes    int
	// Duration is the whole sync: diff, encoding and the transaction;
	// Kernel the transaction alone (sendmsg until the acknowledgement).
	Duration, Kernel time.Duration
	// Flows is the number of stale UDP conntrack entries deleted after
	// the transaction.
	Flows int
}

// NewSyncer returns a Syncer for cfg's Table, NodeName, ClusterCIDR, NetNS
// and Log; it does not touch the kernel until Sync.
func NewSyncer(cfg Config) (*Syncer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Syncer{
		table:     cfg.Table,
		cidr:      cidr4(cfg.ClusterCIDR),
		node:      cfg.NodeName,
		conn:      newConn(cfg.NetNS),
		flows:     flowCleaner{netns: cfg.NetNS},
		log:       cfg.Log,
		applied:   map[types.NamespacedName][]*svcPort{},
		pending:   map[types.NamespacedName][]*svcPort{},
		owners:    map[elemKey]owner{},
		contended: map[elemKey]bool{},
		hairpin:   map[[4]byte]int{},
		slots:     newSlots(),
		full:      true,
	}
	s.send = s.conn.send
	return s, nil
}

func cidr4(c *net.IPNet) *net.IPNet {
	if c == nil {
		return nil
	}
	mask := c.Mask
	if len(mask) == net.IPv6len {
		mask = mask[12:]
	}
	return &net.IPNet{IP: c.IP.To4().Mask(mask), Mask: mask}
}

// SetService stages svc with the EndpointSlices labelled with its name.
// Nothing is kept of the objects but what the rules need.
func (s *Syncer) SetService(svc *v1.Service, epSlices []*discoveryv1.EndpointSlice) {
	ports := servicePorts(svc, epSlices, s.node)
	for _, p := range ports {
		if len(p.clusterEPs) > maxEndpoints {
			s.log.Warn("too many endpoints for one service port; some get no traffic",
				"port", p.key, "endpoints", len(p.clusterEPs), "served", maxEndpoints)
		}
	}
	s.stage(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, ports)
}

// DeleteService stages the removal of a Service.
func (s *Syncer) DeleteService(namespace, name string) {
	s.stage(types.NamespacedName{Namespace: namespace, Name: name}, nil)
}

func (s *Syncer) stage(name types.NamespacedName, ports []*svcPort) {
	if equalPorts(s.applied[name], ports) {
		delete(s.pending, name)
		return
	}
	s.pending[name] = ports
}

// Pending reports whether Sync has something to do.
func (s *Syncer) Pending() bool { return s.full || len(s.pending) > 0 }

// Sync applies the staged changes in one transaction. On error nothing
// changed in the kernel, the changes stay staged, and the next Sync
// rebuilds the whole table.
func (s *Syncer) Sync() (SyncStats, error) {
	start := time.Now()
	var st SyncStats
	var err error
	stale := staleUDP(s.applied, s.pending)
	switch {
	case s.full:
		st, err = s.syncAll()
	case len(s.pending) > 0:
		st, err = s.syncChanges()
	default:
		return st, nil
	}
	st.Duration = time.Since(start)
	if err != nil {
		s.full = true
		return st, err
	}
	n, err := s.flows.delete(stale)
	st.Flows = int(n)
	if err != nil {
		s.log.Warn("stale UDP flows stay until they time out", "err", err)
	}
	return st, nil
}

// Close deletes the table and closes the netlink socket. The Syncer may
// be used again: its next Sync is a full one.
func (s *Syncer) Close() error {
	s.full = true
	for name, ports := range s.applied {
		if _, ok := s.pending[name]; !ok {
			s.pending[name] = ports
		}
	}
	s.applied = map[types.NamespacedName][]*svcPort{}
	clear(s.owners)
	clear(s.contended)
	clear(s.hairpin)
	s.slots = newSlots()
	defer s.conn.close()
	defer s.flows.close()
	return s.send(deleteBatch(s.table))
}

// Cleanup deletes a table a proxy left behind (family ip) in the current
// network namespace; a missing table is no error.
func Cleanup(table string) error {
	c := newConn(0)
	defer c.close()
	return c.send(deleteBatch(table))
}

func deleteBatch(table string) *batch {
	b := newBatch(table)
	b.addTable() // so that deleting cannot fail for want of it
	b.delTable()
	return b
}

// syncAll replaces the table with one holding every Service.
func (s *Syncer) syncAll() (SyncStats, error) {
	desired := maps.Clone(s.applied)
	for name, ports := range s.pending {
		if len(ports) == 0 {
			delete(desired, name)
		} else {
			desired[name] = ports
		}
	}
	b := newBatch(s.table)
	b.addTable()
	b.delTable()
	b.addTable()
	writeSkeleton(b, s.cidr)
	t := &tableState{owners: map[elemKey]owner{}, contended: map[elemKey]bool{}, hairpin: map[[4]byte]int{}, slots: newSlots()}
	if err := t.write(s, b, desired); err != nil {
		return SyncStats{}, err
	}
	st := SyncStats{Full: true, Services: len(desired), Messages: b.messages(), Bytes: len(b.buf)}
	if err := st.timeSend(s.send, b); err != nil {
		return st, err
	}
	s.applied, s.pending = desired, map[types.NamespacedName][]*svcPort{}
	s.owners, s.contended, s.hairpin, s.slots, s.full = t.owners, t.contended, t.hairpin, t.slots, false
	return st, nil
}

// tableState is the Syncer's record of a table being written whole.
type tableState struct {
	owners    map[elemKey]owner
	contended map[elemKey]bool
	hairpin   map[[4]byte]int
	slots     slots
}

// write adds every Service's chains and elements to b, after the
// skeleton.
func (t *tableState) write(s *Syncer, b *batch, desired map[types.NamespacedName][]*svcPort) error {
	w := ruleWriter{b: b, cidr: s.cidr}
	var elems [numMaps][]elemSpec
	var ps []pick
	for _, name := range sortedNames(desired) {
		r := render(desired[name])
		for i := range r.eps {
			w.affinitySet(&r.eps[i])
			b.addChain(r.eps[i].chain, nil)
			w.endpointChain(&r.eps[i])
		}
		for i := range r.chains {
			c := &r.chains[i]
			if t.slots.next == maxSlots {
				return fmt.Errorf("%w: more than %d service chains", ErrNftables, maxSlots)
			}
			slot := t.slots.next
			t.slots.of[c.name], t.slots.next = slot, slot+1
			b.addChain(c.name, nil)
			w.serviceChain(c, slot)
			ps = append(ps, picks(c, slot)...)
		}
		for _, e := range r.elems {
			if o, taken := t.owners[e.k]; taken {
				t.contended[e.k] = true
				s.logConflict(e.k, o.svc, name)
				continue
			}
			t.owners[e.k] = owner{svc: name, t: e.t}
			elems[e.k.m] = append(elems[e.k.m], e)
		}
		for _, ip := range r.hairpin {
			t.hairpin[ip]++
		}
	}
	for m := range elems {
		b.addElems(mapNames[m], targetElems(elems[m]))
	}
	writePicks(b, ps, b.addElems)
	b.addElems(setHairpin, hairpinElems(slices.Collect(maps.Keys(t.hairpin))))
	return nil
}

// timeSend sends the batch and times it.
func (st *SyncStats) timeSend(send func(*batch) error, b *batch) error {
	start := time.Now()
	err := send(b)
	st.Kernel = time.Since(start)
	return err
}

func (s *Syncer) logConflict(k elemKey, kept, lost types.NamespacedName) {
	s.log.Warn("two services claim the same address and port; the first keeps it",
		"map", mapNames[k.m], "kept", kept.String(), "ignored", lost.String())
}

func sortedNames[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b types.NamespacedName) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return names
}

func hairpinElems(ips [][4]byte) []elem {
	out := make([]elem, len(ips))
	for i, ip := range ips {
		key := make([]byte, 8)
		copy(key, ip[:])
		copy(key[4:], ip[:])
		out[i] = elem{key: key}
	}
	return out
}

// syncChanges rewrites the changed Services' chains and elements.
func (s *Syncer) syncChanges() (SyncStats, error) {
	p := newPlan(s)
	for _, name := range sortedNames(s.pending) {
		p.diff(name, render(s.applied[name]), render(s.pending[name]))
	}
	p.claim()
	b := newBatch(s.table)
	if err := p.write(b); err != nil {
		return SyncStats{}, err
	}
	st := SyncStats{Services: len(s.pending), Messages: b.messages(), Bytes: len(b.buf)}
	if err := st.timeSend(s.send, b); err != nil {
		return st, err
	}
	p.commit()
	return st, nil
}
