package discovery

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff/skiff/internal/registry"
)

const (
	maxEndpoints      = 1000
	maxAddresses      = 100
	maxPorts          = 20000
	maxTopologyLabels = 16
	maxHints          = 8
)

var (
	addressTypes = []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}
	protocols    = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

var (
	endpointSliceStrategy = registry.Strategy{
		Default: func(obj runtime.Object) { defaultEndpointSlice(obj.(*discoveryv1.EndpointSlice)) },
		PrepareForCreate: func(obj runtime.Object) {
			eps := obj.(*discoveryv1.EndpointSlice)
			eps.Generation = 1
			dropDeprecatedTopology(eps, nil)
		},
		PrepareForUpdate: func(obj, old runtime.Object) {
			prepareEndpointSliceUpdate(obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice))
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateEndpointSlice(obj.(*discoveryv1.EndpointSlice))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return apivalidation.ValidateImmutableField(obj.(*discoveryv1.EndpointSlice).AddressType,
				old.(*discoveryv1.EndpointSlice).AddressType, field.NewPath("addressType"))
		},
	}
	endpointSliceTable = &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			registry.Column("AddressType", "string", 0, discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]),
			registry.Column("Ports", "string", 0, discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]),
			registry.Column("Endpoints", "string", 0, discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
			registry.AgeColumn,
		},
		Row: func(obj runtime.Object) []interface{} {
			eps := obj.(*discoveryv1.EndpointSlice)
			return []interface{}{eps.Name, string(eps.AddressType), formatPorts(eps.Ports),
				formatEndpoints(eps.Endpoints), registry.Age(eps.CreationTimestamp)}
		},
	}
)

// defaultEndpointSlice gives every port a name ("") and a protocol (TCP).
func defaultEndpointSlice(eps *discoveryv1.EndpointSlice) {
	for i := range eps.Ports {
		port := &eps.Ports[i]
		if port.Name == nil {
			port.Name = new(string)
		}
		if port.Protocol == nil {
			tcp := corev1.ProtocolTCP
			port.Protocol = &tcp
		}
	}
}

// dropDeprecatedTopology clears deprecatedTopology, which the v1 API does
// not let clients write, unless the endpoints are unchanged from old.
func dropDeprecatedTopology(eps, old *discoveryv1.EndpointSlice) {
	if old != nil && equality.Semantic.DeepEqual(eps.Endpoints, old.Endpoints) {
		return
	}
	for i := range eps.Endpoints {
		eps.Endpoints[i].DeprecatedTopology = nil
	}
}

// prepareEndpointSliceUpdate bumps the generation when the slice's content
// or labels change; the slice has no status.
func prepareEndpointSliceUpdate(eps, old *discoveryv1.EndpointSlice) {
	dropDeprecatedTopology(eps, old)
	eps.Generation = old.Generation
	same := eps.AddressType == old.AddressType &&
		equality.Semantic.DeepEqual(eps.Endpoints, old.Endpoints) &&
		equality.Semantic.DeepEqual(eps.Ports, old.Ports) &&
		equality.Semantic.DeepEqual(eps.Labels, old.Labels)
	if !same {
		eps.Generation++
	}
}

func validateEndpointSlice(eps *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	typePath := field.NewPath("addressType")
	if eps.AddressType == "" {
		errs = append(errs, field.Required(typePath, ""))
	} else if !slices.Contains(addressTypes, string(eps.AddressType)) {
		errs = append(errs, field.NotSupported(typePath, eps.AddressType, addressTypes))
	}
	errs = append(errs, validateEndpoints(eps.Endpoints, eps.AddressType)...)
	return append(errs, validatePorts(eps.Ports)...)
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addressType discoveryv1.AddressType) field.ErrorList {
	p := field.NewPath("endpoints")
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(p, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		errs = append(errs, validateEndpoint(&endpoints[i], addressType, p.Index(i))...)
	}
	return errs
}

func validateEndpoint(ep *discoveryv1.Endpoint, addressType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	addrPath := p.Child("addresses")
	if len(ep.Addresses) == 0 {
		errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
	} else if len(ep.Addresses) > maxAddresses {
		errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddresses))
	}
	for i, addr := range ep.Addresses {
		errs = append(errs, validateAddress(addr, addressType, addrPath.Index(i))...)
	}
	if ep.NodeName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
			errs = append(errs, field.Invalid(p.Child("nodeName"), *ep.NodeName, msg))
		}
	}
	topo := p.Child("deprecatedTopology")
	if len(ep.DeprecatedTopology) > maxTopologyLabels {
		errs = append(errs, field.TooMany(topo, len(ep.DeprecatedTopology), maxTopologyLabels))
	}
	errs = append(errs, metavalidation.ValidateLabels(ep.DeprecatedTopology, topo)...)
	if ep.Hostname != nil {
		for _, msg := range content.IsDNS1123Label(*ep.Hostname) {
			errs = append(errs, field.Invalid(p.Child("hostname"), *ep.Hostname, msg))
		}
	}
	if ep.Hints != nil {
		errs = append(errs, validateHints(ep.Hints, p.Child("hints"))...)
	}
	return errs
}

// validateAddress checks one address against the slice's address type;
// addresses of unknown types are left alone (the type itself is reported).
func validateAddress(addr string, addressType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	switch addressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		ip := netutils.ParseIPSloppy(addr)
		isV4 := ip != nil && ip.To4() != nil
		if ip == nil || isV4 != (addressType == discoveryv1.AddressTypeIPv4) {
			msg := "must be a valid IPv4 address"
			if addressType == discoveryv1.AddressTypeIPv6 {
				msg = "must be a valid IPv6 address"
			}
			return field.ErrorList{field.Invalid(p, addr, msg)}
		}
		return validateEndpointIP(addr, ip, p)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(p, addr)
	}
	return nil
}

// validateEndpointIP refuses addresses that cannot be endpoints:
// unspecified, loopback and link-local ones.
func validateEndpointIP(addr string, ip net.IP, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(p, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(p, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// validateHints checks topology hints: at most 8 zones and 8 nodes, each
// named once and validly.
func validateHints(hints *discoveryv1.EndpointHints, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	zones := p.Child("forZones")
	if len(hints.ForZones) > maxHints {
		return field.ErrorList{field.TooMany(zones, len(hints.ForZones), maxHints)}
	}
	for i, z := range hints.ForZones {
		name := zones.Index(i).Child("name")
		if slices.ContainsFunc(hints.ForZones[:i], func(o discoveryv1.ForZone) bool { return o.Name == z.Name }) {
			errs = append(errs, field.Duplicate(name, z.Name))
		}
		for _, msg := range content.IsLabelValue(z.Name) {
			errs = append(errs, field.Invalid(name, z.Name, msg))
		}
	}
	nodes := p.Child("forNodes")
	if len(hints.ForNodes) > maxHints {
		return append(errs, field.TooMany(nodes, len(hints.ForNodes), maxHints))
	}
	for i, n := range hints.ForNodes {
		name := nodes.Index(i).Child("name")
		if slices.ContainsFunc(hints.ForNodes[:i], func(o discoveryv1.ForNode) bool { return o.Name == n.Name }) {
			errs = append(errs, field.Duplicate(name, n.Name))
		}
		for _, msg := range apivalidation.NameIsDNSSubdomain(n.Name, false) {
			errs = append(errs, field.Invalid(name, n.Name, msg))
		}
	}
	return errs
}

// validatePorts checks port names (unique DNS labels or ""), protocols,
// numbers and application protocols.
func validatePorts(ports []discoveryv1.EndpointPort) field.ErrorList {
	p := field.NewPath("ports")
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(p, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		idx := p.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		for _, msg := range validateNameIfSet(name) {
			errs = append(errs, field.Invalid(idx.Child("name"), name, msg))
		}
		if names[name] {
			errs = append(errs, field.Duplicate(idx.Child("name"), name))
		}
		names[name] = true
		if port.Protocol == nil {
			errs = append(errs, field.Required(idx.Child("protocol"), ""))
		} else if !slices.Contains(protocols, string(*port.Protocol)) {
			errs = append(errs, field.NotSupported(idx.Child("protocol"), *port.Protocol, protocols))
		}
		if port.Port != nil {
			for _, msg := range validation.IsValidPortNum(int(*port.Port)) {
				errs = append(errs, field.Invalid(idx.Child("port"), *port.Port, msg))
			}
		}
		if port.AppProtocol != nil {
			for _, msg := range content.IsQualifiedName(*port.AppProtocol) {
				errs = append(errs, field.Invalid(idx.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}

func validateNameIfSet(name string) []string {
	if name == "" {
		return nil
	}
	return content.IsDNS1123Label(name)
}

// formatPorts prints up to three port numbers (or names, or "*").
func formatPorts(ports []discoveryv1.EndpointPort) string {
	var list []string
	for _, port := range ports {
		switch {
		case port.Port != nil:
			list = append(list, strconv.Itoa(int(*port.Port)))
		case port.Name != nil:
			list = append(list, *port.Name)
		default:
			list = append(list, "*")
		}
	}
	return firstThree(list)
}

// formatEndpoints prints up to three addresses.
func formatEndpoints(endpoints []discoveryv1.Endpoint) string {
	var list []string
	for _, ep := range endpoints {
		list = append(list, ep.Addresses...)
	}
	return firstThree(list)
}

// firstThree joins up to three items, noting how many more there are;
// nothing prints as <unset>.
func firstThree(list []string) string {
	switch {
	case len(list) == 0:
		return "<unset>"
	case len(list) > 3:
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:3], ","), len(list)-3)
	}
	return strings.Join(list, ",")
}
