package core

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Endpoints (the legacy API; EndpointSlices live in discovery).

var endpointsStrategy = registry.Strategy{
	Default:  defaultEndpoints,
	Validate: validateEndpoints,
}

// defaultEndpoints: ports default to TCP.
func defaultEndpoints(obj runtime.Object) {
	ep := obj.(*corev1.Endpoints)
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if ep.Subsets[i].Ports[j].Protocol == "" {
				ep.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// validateEndpoints checks every subset: it has addresses, each a usable IP,
// and valid ports (named when there are several).
func validateEndpoints(obj runtime.Object) field.ErrorList {
	ep := obj.(*corev1.Endpoints)
	var errs field.ErrorList
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, endpointAddressErrs(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, endpointAddressErrs(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			errs = append(errs, endpointPortErrs(&ss.Ports[j], len(ss.Ports) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func endpointAddressErrs(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	errs := validation.IsValidIP(p.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, dns1123LabelErrs(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*a.NodeName, false) {
			errs = append(errs, field.Invalid(p.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return append(errs, nonSpecialIPErrs(a.IP, p.Child("ip"))...)
}

func endpointPortErrs(port *corev1.EndpointPort, requireName bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else if port.Name != "" {
		errs = append(errs, dns1123LabelErrs(port.Name, p.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(p.Child("port"), port.Port, msg))
	}
	if port.Protocol == "" {
		errs = append(errs, field.Required(p.Child("protocol"), ""))
	} else if !inValues(string(port.Protocol), portProtocols) {
		errs = append(errs, field.NotSupported(p.Child("protocol"), port.Protocol, portProtocols))
	}
	if port.AppProtocol != nil {
		errs = append(errs, qualifiedNameErrs(*port.AppProtocol, p.Child("appProtocol"))...)
	}
	return errs
}

var endpointsTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Endpoints", "string", 0, corev1.Endpoints{}.SwaggerDoc()["subsets"]),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		ep := obj.(*corev1.Endpoints)
		return []interface{}{ep.Name, endpointsString(ep), registry.Age(ep.CreationTimestamp)}
	},
}

// endpointsString lists the first three ready "ip:port" pairs and counts the
// rest: "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...".
func endpointsString(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const shown = 3
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		for _, port := range ss.Ports {
			for _, addr := range ss.Addresses {
				if len(list) < shown {
					list = append(list, net.JoinHostPort(addr.IP, strconv.Itoa(int(port.Port))))
				}
				count++
			}
		}
	}
	out := strings.Join(list, ",")
	if count > shown {
		return fmt.Sprintf("%s + %d more...", out, count-shown)
	}
	return out
}
