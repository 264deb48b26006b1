package endpointslice

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

// portGroup is the desired content of the slices of one address type and
// one set of ports: the endpoints by pod name.
type portGroup struct {
	ports     []discoveryv1.EndpointPort
	endpoints map[string]discoveryv1.Endpoint
}

// desiredState holds the port groups of each address type, by port key.
type desiredState map[discoveryv1.AddressType]map[string]*portGroup

// addressTypes returns the address types of the service's slices: those
// of its IP families, else its cluster IP's, else (a headless service not
// yet given families) both.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	switch {
	case len(out) > 0:
	case !endpointutil.Headless(svc) && endpointutil.IsIPv6(svc.Spec.ClusterIP):
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
	case !endpointutil.Headless(svc):
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	default:
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// desired returns the endpoints the service's slices should hold. Pods
// on nodes the cache does not know are left out (unless the service
// publishes not-ready addresses, which says to show them regardless) and
// returned in missing.
func (c *Controller) desired(svc *corev1.Service, pods []*corev1.Pod, types []discoveryv1.AddressType) (want desiredState, missing []string, err error) {
	out := desiredState{}
	for _, t := range types {
		out[t] = map[string]*portGroup{}
	}
	for _, p := range pods {
		if !endpointutil.Include(p, true) {
			continue
		}
		node, err := c.nodes.Get(p.Spec.NodeName)
		if apierrors.IsNotFound(err) {
			node = nil
			if !svc.Spec.PublishNotReadyAddresses {
				missing = append(missing, p.Name)
				continue
			}
		} else if err != nil {
			return nil, nil, fmt.Errorf("endpointslice: get node %s: %w", p.Spec.NodeName, err)
		}
		ports := endpointPorts(svc, p)
		key := portsKey(ports)
		for _, t := range types {
			g := out[t][key]
			if g == nil {
				g = &portGroup{ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
				out[t][key] = g
			}
			if ep, ok := endpointFor(svc, p, node, t); ok {
				g.endpoints[p.Name] = ep
			}
		}
	}
	return out, missing, nil
}

// endpointPorts returns the ports of the service as the pod resolves
// them; a pod without a named target port lacks that port.
func endpointPorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, ok := endpointutil.FindPort(p, sp)
		if !ok {
			continue
		}
		name, proto := sp.Name, endpointutil.Protocol(sp)
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &num, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// portsKey identifies a set of ports regardless of order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%d/%s/%s", deref(p.Name), deref(p.Port), deref(p.Protocol), deref(p.AppProtocol))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// endpointFor returns the pod's endpoint in the slices of address type
// t; ok is false if the pod has no address of that type. A terminating
// pod is never ready unless the service publishes not-ready addresses.
func endpointFor(svc *corev1.Service, p *corev1.Pod, node *corev1.Node, t discoveryv1.AddressType) (discoveryv1.Endpoint, bool) {
	var addrs []string
	for _, ip := range endpointutil.PodIPs(p) {
		if endpointutil.IsIPv6(ip) == (t == discoveryv1.AddressTypeIPv6) {
			addrs = append(addrs, ip)
		}
	}
	if len(addrs) == 0 {
		return discoveryv1.Endpoint{}, false
	}
	serving := endpointutil.Ready(p)
	terminating := p.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  addrs,
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if p.Spec.NodeName != "" {
		name := p.Spec.NodeName
		ep.NodeName = &name
	}
	if node != nil {
		if zone := node.Labels[corev1.LabelTopologyZone]; zone != "" {
			ep.Zone = &zone
		}
	}
	if host := endpointutil.Hostname(p, svc); host != "" {
		ep.Hostname = &host
	}
	return ep, true
}

// sortedEndpoints returns the endpoints ordered by pod name.
func sortedEndpoints(m map[string]discoveryv1.Endpoint) []discoveryv1.Endpoint {
	out := make([]discoveryv1.Endpoint, 0, len(m))
	for _, ep := range m {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b discoveryv1.Endpoint) int { return cmp.Compare(a.TargetRef.Name, b.TargetRef.Name) })
	return out
}
