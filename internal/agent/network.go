package agent

import (
	"context"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/network"
	"github.com/skiff/skiff/internal/network/proxy"
)

// runProxy runs the service proxy: the node's nftables rules for cluster
// IPs and node ports, and the masquerading of pod egress. Its table goes
// when the agent stops cleanly.
func (a *Agent) runProxy(ctx context.Context) error {
	p, err := proxy.New(proxy.Config{Client: a.client, NodeName: a.cfg.NodeName, ClusterCIDR: a.cfg.ClusterCIDR,
		Table: a.cfg.ProxyTable, Log: a.log})
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

// peerResync re-applies the routes now and then, in case something else
// removed one.
const peerResync = time.Minute

// peerThrottle is the least time between two syncs.
const peerThrottle = 200 * time.Millisecond

// runPeerRoutes routes every other node's pod CIDR through that node's
// IP, following the Node objects as nodes come, change and go.
func (a *Agent) runPeerRoutes(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(a.client, 0)
	nodes := factory.Core().V1().Nodes()
	kick := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(old, cur any) {
			if peerOf(old.(*corev1.Node)) != peerOf(cur.(*corev1.Node)) {
				poke(cur)
			}
		}, DeleteFunc: poke,
	})
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return nil
	}
	tick := time.NewTicker(peerResync)
	defer tick.Stop()
	var lastErr string
	for {
		list, err := nodes.Lister().List(labels.Everything())
		if err == nil {
			err = network.SyncPeerRoutes(a.peerRoutes(list))
		}
		// Say each distinct failure once (nodes off this link, such as
		// simulated ones, fail on every sync).
		if err != nil && err.Error() != lastErr {
			a.log.Warn("routes to other nodes", "err", err)
		}
		lastErr = ""
		if err != nil {
			lastErr = err.Error()
		}
		// Node churn comes in bursts: one sync per burst is enough.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(peerThrottle):
		}
		select {
		case <-ctx.Done():
			// The routes stay: pods on this node keep reaching the others
			// while the agent restarts.
			return nil
		case <-kick:
		case <-tick.C:
		}
	}
}

// peerOf is what of a node matters for its route.
func peerOf(n *corev1.Node) string {
	return n.Spec.PodCIDR + " " + nodeInternalIP(n)
}

func nodeInternalIP(n *corev1.Node) string {
	for _, addr := range n.Status.Addresses {
		if addr.Type == corev1.NodeInternalIP {
			return addr.Address
		}
	}
	return ""
}

// peerRoutes are the routes this node wants: one per other node with a
// pod CIDR and an IPv4 address.
func (a *Agent) peerRoutes(nodes []*corev1.Node) []network.PeerRoute {
	var out []network.PeerRoute
	for _, n := range nodes {
		if n.Name == a.cfg.NodeName {
			continue
		}
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		ip := net.ParseIP(nodeInternalIP(n))
		if err != nil || ip == nil || ip.To4() == nil || cidr.IP.To4() == nil || ip.Equal(a.cfg.NodeIP) {
			continue
		}
		out = append(out, network.PeerRoute{PodCIDR: cidr, NodeIP: ip})
	}
	return out
}
