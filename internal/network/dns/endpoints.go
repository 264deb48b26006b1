package dns

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// endpoint is one address of a service's EndpointSlices with the DNS
// label it is known by and the ports of its slice.
type endpoint struct {
	label string // hostname, or the dashed address
	ip    netip.Addr
	ports []endpointPort
}

type endpointPort struct {
	name  string
	proto string
	port  uint16
}

// endpointsOf lists the addresses DNS publishes: those of ready endpoints
// (a missing condition counts as ready, as the API documents), or every
// endpoint when the service sets publishNotReadyAddresses. FQDN slices
// are skipped.
func endpointsOf(slices []*discoveryv1.EndpointSlice, publishNotReady bool) []endpoint {
	var out []endpoint
	for _, sl := range slices {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		ports := slicePorts(sl)
		for i := range sl.Endpoints {
			ep := &sl.Endpoints[i]
			if !publishNotReady && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || ip.Zone() != "" {
					continue
				}
				ip = ip.Unmap()
				label := dashedIP(ip)
				if ep.Hostname != nil && *ep.Hostname != "" {
					label = strings.ToLower(*ep.Hostname)
				}
				out = append(out, endpoint{label: label, ip: ip, ports: ports})
			}
		}
	}
	return out
}

// slicePorts keeps the ports SRV can name: a nil port number means "all
// ports" and has nothing to publish.
func slicePorts(sl *discoveryv1.EndpointSlice) []endpointPort {
	out := make([]endpointPort, 0, len(sl.Ports))
	for _, p := range sl.Ports {
		if p.Port == nil || *p.Port <= 0 || *p.Port > 65535 {
			continue
		}
		ep := endpointPort{port: uint16(*p.Port), proto: string(corev1.ProtocolTCP)}
		if p.Name != nil {
			ep.name = *p.Name
		}
		if p.Protocol != nil {
			ep.proto = string(*p.Protocol)
		}
		out = append(out, ep)
	}
	return out
}
