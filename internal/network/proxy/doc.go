// Package proxy is skiff's Service proxy: it load-balances a node's
// traffic to Services with nftables, as kube-proxy's nftables mode does,
// programming one table (family ip, "skiff" by default) over netlink.
//
// What it serves, from Services and discovery.k8s.io/v1 EndpointSlices:
//
//   - cluster IPs (TCP, UDP, SCTP), DNAT to a random usable endpoint: the
//     ready ones or, if none is ready, the serving and terminating ones;
//     a port without endpoints rejects new connections (ICMP port
//     unreachable; dropped instead for internalTrafficPolicy Local with
//     endpoints on other nodes only);
//   - node ports on every local address but 127.0.0.0/8, external IPs and
//     load-balancer ingress IPs, always masqueraded (externalTrafficPolicy
//     is treated as Cluster);
//   - internalTrafficPolicy Local (the cluster IP serves this node's
//     endpoints only) and ClientIP session affinity (a dynamic set per
//     endpoint, timed out after the Service's timeoutSeconds);
//   - masquerade for hairpin traffic (a pod reaching itself through a
//     Service), for Service traffic from outside the cluster CIDR, and for
//     pod traffic leaving the cluster CIDR (instead of the bridge plugin's
//     ipMasq).
//
// Headless and ExternalName Services get no rules; Services without a
// selector are served from whatever EndpointSlices carry their name.
// IPv4 only.
//
// # Using it
//
// The node agent runs one Proxier:
//
//	p, err := proxy.New(proxy.Config{Client: cs, NodeName: node, ClusterCIDR: cidr, Log: log})
//	...
//	err = p.Run(ctx) // blocks; deletes the table when ctx ends
//
// Run waits for its informers, replaces any table of the same name in one
// transaction, then applies changes as they come, at most one sync per
// MinSyncPeriod (50 ms), each rewriting only the changed Services' chains
// and map elements. Metrics returns sync counters; every sync is logged
// (Info for full ones, Debug for the others). Cleanup deletes a table a
// crashed agent left behind. Syncer is the same machinery without an API
// server, for tests and benchmarks.
//
// The node must have:
//
//   - CAP_NET_ADMIN (nftables, and forced socket buffer sizes);
//   - net.ipv4.ip_forward=1;
//   - br_netfilter with net.bridge.bridge-nf-call-iptables=1 in the
//     node's network namespace, so that replies between pods on the same
//     bridge pass conntrack and are un-DNATed;
//   - hairpin mode on the bridge ports (the bridge plugin's hairpinMode),
//     so a pod can reach itself through a Service;
//   - a route for the service CIDR that lets locally generated packets
//     out of the routing decision: the host's own connections to cluster
//     IPs are DNATed in the nat output hook, after routing, so an
//     unreachable or blackhole route for the service CIDR fails them
//     before any rule sees them. Routing the service CIDR to the pod
//     bridge keeps packets for unused cluster IPs on the machine. Pod
//     traffic to cluster IPs is DNATed before routing and needs nothing.
//
// The proxy uses the packet mark bit 0x4000 (masquerade request), as
// kube-proxy does.
//
// # Layout of the table
//
// See skeleton.go for the fixed sets and chains and render.go for what a
// Service adds. Lookups go through maps keyed by
// `ip daddr . meta l4proto . th dport`, so their cost does not grow with
// the number of Services.
//
// # Transactions
//
// Every sync is one netlink batch, applied by the kernel entirely or not
// at all; after a failed one the next sync rebuilds the whole table. The
// batches are written here (netlink.go, objects.go) with google/nftables'
// expression encoders: its Conn asks the kernel for an acknowledgement
// and an echo of every message, which overflows its socket for a few
// thousand rules.
package proxy
