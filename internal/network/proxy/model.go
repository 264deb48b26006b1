package proxy

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// The model: what the proxy serves, reduced from Services and
// EndpointSlices to plain comparable values. Everything here is pure.

// endpoint is an IPv4 address and port traffic may be sent to.
type endpoint struct {
	ip   [4]byte
	port uint16
}

func (e endpoint) String() string {
	return netip.AddrPortFrom(netip.AddrFrom4(e.ip), e.port).String()
}

func compareEndpoints(a, b endpoint) int {
	if c := bytes.Compare(a.ip[:], b.ip[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.port, b.port)
}

// svcPort is one port of a Service, as the proxy serves it.
type svcPort struct {
	// key is "namespace/name/port" ("namespace/name" for an unnamed
	// port); it names the port's chains and sets (nft(8) takes such names
	// unquoted).
	key       string
	proto     uint8
	clusterIP [4]byte
	port      uint16
	nodePort  uint16        // 0: none
	externals [][4]byte     // spec.externalIPs and load-balancer ingress IPs, sorted
	affinity  time.Duration // ClientIP session affinity timeout; 0: none
	// local is internalTrafficPolicy: Local: the cluster IP serves only
	// localEPs; node ports and external IPs serve clusterEPs.
	local      bool
	clusterEPs []endpoint
	localEPs   []endpoint
}

func (p *svcPort) equal(q *svcPort) bool {
	return p.key == q.key && p.proto == q.proto && p.clusterIP == q.clusterIP &&
		p.port == q.port && p.nodePort == q.nodePort && p.affinity == q.affinity &&
		p.local == q.local && slices.Equal(p.externals, q.externals) &&
		slices.Equal(p.clusterEPs, q.clusterEPs) && slices.Equal(p.localEPs, q.localEPs)
}

func equalPorts(a, b []*svcPort) bool {
	return slices.EqualFunc(a, b, (*svcPort).equal)
}

// defaultAffinityTimeout is Kubernetes' default ClientIP timeout (3 hours).
const defaultAffinityTimeout = 10800 * time.Second

// servicePorts reduces a Service and its EndpointSlices to the ports the
// proxy serves. Headless and ExternalName Services, and Services without
// an IPv4 cluster IP, get none.
func servicePorts(svc *v1.Service, epSlices []*discoveryv1.EndpointSlice, node string) []*svcPort {
	if svc == nil || svc.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	cip, ok := clusterIPv4(svc)
	if !ok {
		return nil
	}
	var out []*svcPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		proto, ok := protocolNumber(sp.Protocol)
		if !ok || sp.Port <= 0 || sp.Port > 0xffff {
			continue
		}
		p := &svcPort{
			key:       portKeyOf(svc.Namespace, svc.Name, sp.Name),
			proto:     proto,
			clusterIP: cip,
			port:      uint16(sp.Port),
			externals: externalIPv4s(svc),
			affinity:  affinityTimeout(svc),
			local:     svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal,
		}
		if (svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer) && sp.NodePort > 0 && sp.NodePort <= 0xffff {
			p.nodePort = uint16(sp.NodePort)
		}
		cands := candidates(epSlices, sp.Name, sp.Protocol, node)
		p.clusterEPs = usable(cands, false)
		if p.local {
			p.localEPs = usable(cands, true)
		}
		out = append(out, p)
	}
	return out
}

func portKeyOf(namespace, name, port string) string {
	if port == "" {
		return namespace + "/" + name
	}
	return namespace + "/" + name + "/" + port
}

func clusterIPv4(svc *v1.Service) ([4]byte, bool) {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() && !a.IsUnspecified() {
			return a.As4(), true
		}
	}
	return [4]byte{}, false
}

func protocolNumber(p v1.Protocol) (uint8, bool) {
	switch p {
	case v1.ProtocolTCP, "":
		return 6, true
	case v1.ProtocolUDP:
		return 17, true
	case v1.ProtocolSCTP:
		return 132, true
	}
	return 0, false
}

// externalIPv4s lists spec.externalIPs and the load balancer's ingress IPs
// (but those in ipMode Proxy, which the load balancer terminates itself).
func externalIPv4s(svc *v1.Service) [][4]byte {
	var out [][4]byte
	add := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() && !a.IsUnspecified() {
			out = append(out, a.As4())
		}
	}
	for _, s := range svc.Spec.ExternalIPs {
		add(s)
	}
	if svc.Spec.Type == v1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IPMode == nil || *ing.IPMode != v1.LoadBalancerIPModeProxy {
				add(ing.IP)
			}
		}
	}
	slices.SortFunc(out, func(a, b [4]byte) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}

func affinityTimeout(svc *v1.Service) time.Duration {
	if svc.Spec.SessionAffinity != v1.ServiceAffinityClientIP {
		return 0
	}
	if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
		return time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
	}
	return defaultAffinityTimeout
}

// candidate is an endpoint with the conditions that decide whether it
// gets traffic.
type candidate struct {
	ep          endpoint
	ready       bool
	serving     bool
	terminating bool
	local       bool
}

// candidates collects the IPv4 endpoints of a service port (matched by
// port name and protocol) from its slices, once each.
func candidates(epSlices []*discoveryv1.EndpointSlice, portName string, proto v1.Protocol, node string) []candidate {
	if proto == "" {
		proto = v1.ProtocolTCP
	}
	seen := map[endpoint]int{}
	var out []candidate
	for _, sl := range epSlices {
		if sl == nil || sl.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		port, ok := slicePort(sl, portName, proto)
		if !ok {
			continue
		}
		for i := range sl.Endpoints {
			c, ok := candidateOf(&sl.Endpoints[i], port, node)
			if !ok {
				continue
			}
			if j, dup := seen[c.ep]; dup {
				// The same address in two slices (a slice being
				// replaced): the more available copy wins.
				out[j].ready = out[j].ready || c.ready
				out[j].serving = out[j].serving || c.serving
				out[j].terminating = out[j].terminating && c.terminating
				out[j].local = out[j].local || c.local
				continue
			}
			seen[c.ep] = len(out)
			out = append(out, c)
		}
	}
	return out
}

func slicePort(sl *discoveryv1.EndpointSlice, name string, proto v1.Protocol) (uint16, bool) {
	for _, p := range sl.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		pp := v1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pn == name && pp == proto && p.Port != nil && *p.Port > 0 && *p.Port <= 0xffff {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}

func candidateOf(e *discoveryv1.Endpoint, port uint16, node string) (candidate, bool) {
	if len(e.Addresses) == 0 {
		return candidate{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(e.Addresses[0]))
	if err != nil || !a.Is4() {
		return candidate{}, false
	}
	c := candidate{ep: endpoint{ip: a.As4(), port: port}}
	// Kubernetes: a nil ready is true; a nil serving is ready's value.
	c.ready = e.Conditions.Ready == nil || *e.Conditions.Ready
	c.serving = c.ready
	if e.Conditions.Serving != nil {
		c.serving = *e.Conditions.Serving
	}
	c.terminating = e.Conditions.Terminating != nil && *e.Conditions.Terminating
	c.local = node != "" && e.NodeName != nil && *e.NodeName == node
	return c, true
}

// usable picks the endpoints that get traffic: the ready ones or, if none
// is ready, the serving and terminating ones (kube-proxy's rule, so that
// connections drain during a rollout of the last pods). localOnly keeps
// this node's endpoints only.
func usable(cands []candidate, localOnly bool) []endpoint {
	var ready, terminating []endpoint
	for _, c := range cands {
		if localOnly && !c.local {
			continue
		}
		switch {
		case c.ready:
			ready = append(ready, c.ep)
		case c.serving && c.terminating:
			terminating = append(terminating, c.ep)
		}
	}
	out := ready
	if len(out) == 0 {
		out = terminating
	}
	slices.SortFunc(out, compareEndpoints)
	return out
}
