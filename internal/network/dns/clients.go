package dns

import (
	"net"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// clients decides who may have names outside the cluster domain
// resolved (recursion): the server listens on a node address, and an
// open resolver there would serve the whole network it sits on. Cluster
// names are answered for anyone.
type clients struct {
	prefixes []netip.Prefix
	mu       sync.RWMutex
	nodes    map[netip.Addr]int // node addresses, counted by the nodes that have them
}

func newClients(prefixes []netip.Prefix) *clients {
	return &clients{prefixes: prefixes, nodes: map[netip.Addr]int{}}
}

// allowed says whether addr may recurse. With no prefixes configured,
// everyone may (the caller chose an open resolver).
func (c *clients) allowed(addr net.Addr) bool {
	if c == nil || len(c.prefixes) == 0 {
		return true
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		return false
	}
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return true
	}
	for _, p := range c.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nodes[ip] > 0
}

// watchNodes keeps the node addresses (pods' queries arrive from their
// node's address once masqueraded on the way to the server).
func (c *clients) watchNodes(f informers.SharedInformerFactory) (cache.ResourceEventHandlerRegistration, error) {
	return f.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.node(obj, 1) },
		UpdateFunc: func(old, cur any) {
			c.node(old, -1)
			c.node(cur, 1)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			c.node(obj, -1)
		},
	})
}

func (c *clients) node(obj any, delta int) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			ip = ip.Unmap()
			if c.nodes[ip] += delta; c.nodes[ip] <= 0 {
				delete(c.nodes, ip)
			}
		}
	}
}
