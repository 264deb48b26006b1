package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// Helpers shared by the non-pod core resources (configmaps, services, nodes,
// volumes, quota, ...). Names are deliberately specific so they do not clash
// with the pod helpers living in the same package.

const (
	msgNotPositive = "must be greater than zero"
	msgNotInteger  = "must be an integer"
)

// roundUpQuantities rounds every quantity of a resource list up to milli
// precision, as Kubernetes' ResourceList defaulting does ("0.1m" -> "1m").
// Rounding is stable, so running it again changes nothing.
func roundUpQuantities(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(resource.Milli)
		list[name] = q
	}
}

// quantityNonNegativeErrs rejects negative quantities.
func quantityNonNegativeErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(path, q.String(), apivalidation.IsNegativeErrorMsg)}
	}
	return nil
}

// quantityPositiveErrs rejects zero and negative quantities.
func quantityPositiveErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(path, q.String(), msgNotPositive)}
	}
	return nil
}

// quantityForResourceErrs checks a quantity of the named resource: never
// negative, and whole for resources counted in units (pods, services, ...).
func quantityForResourceErrs(name corev1.ResourceName, q resource.Quantity, path *field.Path) field.ErrorList {
	errs := quantityNonNegativeErrs(q, path)
	if rnIsInteger(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(path, q, msgNotInteger))
	}
	return errs
}

// quantityBasicErrs is the loose check used for volume capacities.
func quantityBasicErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(path, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

// Resource name classification (the rules of Kubernetes' core helpers).

// rnIsNative reports whether a resource lives in the kubernetes.io
// namespace; unprefixed names are implicitly native.
func rnIsNative(name corev1.ResourceName) bool {
	s := string(name)
	return !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
}

func rnIsHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func rnIsQuotaHugePages(name corev1.ResourceName) bool {
	return rnIsHugePages(name) || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
}

// rnIsExtended reports a vendor resource such as example.com/gpu.
func rnIsExtended(name corev1.ResourceName) bool {
	if rnIsNative(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(content.IsLabelKey(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// rnOvercommitAllowed: requests may be below limits for native,
// non-hugepage resources only.
func rnOvercommitAllowed(name corev1.ResourceName) bool {
	return rnIsNative(name) && !rnIsHugePages(name)
}

var rnCounted = map[corev1.ResourceName]bool{
	corev1.ResourcePods: true, corev1.ResourceQuotas: true, corev1.ResourceServices: true,
	corev1.ResourceReplicationControllers: true, corev1.ResourceSecrets: true,
	corev1.ResourceConfigMaps: true, corev1.ResourcePersistentVolumeClaims: true,
	corev1.ResourceServicesNodePorts: true, corev1.ResourceServicesLoadBalancers: true,
}

// rnIsInteger reports resources whose quantities must be whole numbers.
func rnIsInteger(name corev1.ResourceName) bool {
	return rnCounted[name] || rnIsExtended(name)
}

var rnStandard = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true,
	corev1.ResourceRequestsEphemeralStorage: true, corev1.ResourceLimitsCPU: true,
	corev1.ResourceLimitsMemory: true, corev1.ResourceLimitsEphemeralStorage: true,
	corev1.ResourceStorage: true, corev1.ResourceRequestsStorage: true,
}

// rnIsStandard reports resources the system knows without a prefix.
func rnIsStandard(name corev1.ResourceName) bool {
	return rnStandard[name] || rnCounted[name] || rnIsQuotaHugePages(name)
}

// resourceNameErrs checks a resource name: a qualified name, and a known
// one unless it carries a domain prefix.
func resourceNameErrs(name corev1.ResourceName, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsLabelKey(string(name)) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !rnIsStandard(name) {
		errs = append(errs, field.Invalid(path, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

// containerResourceNameErrs narrows resourceNameErrs to what containers
// (and LimitRange Pod/Container items) may request.
func containerResourceNameErrs(name corev1.ResourceName, path *field.Path) field.ErrorList {
	errs := resourceNameErrs(name, path)
	if !strings.Contains(string(name), "/") {
		switch {
		case name == corev1.ResourceCPU, name == corev1.ResourceMemory,
			name == corev1.ResourceEphemeralStorage, rnIsHugePages(name):
		default:
			errs = append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
		}
	} else if !rnIsNative(name) && !rnIsExtended(name) {
		errs = append(errs, field.Invalid(path, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// Name and format checks producing Kubernetes' messages.

func dns1123LabelErrs(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func dns1123SubdomainErrs(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func qualifiedNameErrs(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsLabelKey(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// portNumOrNameErrs checks an IntOrString port: 1-65535 or an IANA name.
func portNumOrNameErrs(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(path, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(path, port.StrVal, msg))
		}
	default:
		errs = append(errs, field.InternalError(path, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}

// nonSpecialIPErrs rejects addresses that make no sense as a service or
// endpoint address: unspecified, loopback and link-local ones.
func nonSpecialIPErrs(addr string, path *field.Path) field.ErrorList {
	ip := netutils.ParseIPSloppy(addr)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, addr, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// immutableErrs reports `field is immutable` when a field changed.
func immutableErrs(newVal, oldVal interface{}, path *field.Path) field.ErrorList {
	return apivalidation.ValidateImmutableField(newVal, oldVal, path)
}

// sameStringMap and sameBytesMap compare maps treating nil and empty alike,
// so a stored object without data and a decoded one with "{}" are equal.
func sameStringMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameBytesMap(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

// microToTime turns a MicroTime into a Time, for registry.Age.
func microToTime(t metav1.MicroTime) metav1.Time { return metav1.Time(t) }
