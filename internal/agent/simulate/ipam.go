package simulate

import (
	"fmt"
	"net/netip"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// ipPool hands out one node's pod addresses, as host-local IPAM would:
// the network address, the first address (the bridge's) and the last are
// never given.
type ipPool struct {
	mu     sync.Mutex
	byUID  map[types.UID]netip.Addr
	used   map[netip.Addr]types.UID
	prefix netip.Prefix
	next   netip.Addr
}

func newIPPool() *ipPool {
	return &ipPool{byUID: map[types.UID]netip.Addr{}, used: map[netip.Addr]types.UID{}}
}

// assign returns the pod's address, taking a free one of prefix for a pod
// that has none. The search goes on from the last address given, so
// addresses are reused late.
func (p *ipPool) assign(uid types.UID, prefix netip.Prefix) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byUID[uid]; ok {
		return a, nil
	}
	prefix = prefix.Masked()
	if p.prefix != prefix || !p.next.IsValid() {
		p.prefix, p.next = prefix, firstHost(prefix)
	}
	a := p.next
	for range poolSize(prefix) {
		if !usable(prefix, a) {
			a = firstHost(prefix)
		}
		if _, taken := p.used[a]; !taken {
			p.byUID[uid], p.used[a] = a, uid
			p.next = a.Next()
			return a, nil
		}
		a = a.Next()
	}
	return netip.Addr{}, fmt.Errorf("%w in %s", ErrNoPodIP, prefix)
}

// reserve records an address a pod already has (after a restart); an
// address held by another pod stays with that pod.
func (p *ipPool) reserve(uid types.UID, ip string) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.used[a]; taken {
		return
	}
	if old, ok := p.byUID[uid]; ok {
		delete(p.used, old)
	}
	p.byUID[uid], p.used[a] = a, uid
}

// release frees the pod's address.
func (p *ipPool) release(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.byUID[uid]; ok {
		delete(p.used, a)
		delete(p.byUID, uid)
	}
}

func firstHost(prefix netip.Prefix) netip.Addr { return prefix.Addr().Next().Next() }

// usable says a is in prefix and is not its last (broadcast) address.
func usable(prefix netip.Prefix, a netip.Addr) bool {
	return a.IsValid() && prefix.Contains(a) && prefix.Contains(a.Next())
}

// poolSize bounds the search: the prefix's size, at most 65536.
func poolSize(prefix netip.Prefix) int {
	bits := prefix.Addr().BitLen() - prefix.Bits()
	if bits > 16 {
		return 1 << 16
	}
	return 1 << bits
}
