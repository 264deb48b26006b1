package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// Service validation, with Kubernetes' paths and messages (including its
// historical oddities such as "spec.LoadBalancerSourceRanges").

var (
	serviceTypes           = []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}
	serviceAffinities      = []string{"ClientIP", "None"}
	portProtocols          = []string{"SCTP", "TCP", "UDP"}
	trafficPolicies        = []string{"Cluster", "Local"}
	ipFamilyNames          = []string{"IPv4", "IPv6"}
	ipFamilyPolicyNames    = []string{"PreferDualStack", "RequireDualStack", "SingleStack"}
	trafficDistributions   = []string{"PreferClose", "PreferSameNode", "PreferSameZone"}
	loadBalancerIPModes    = []string{"Proxy", "VIP"}
	msgOnlyForLoadBalancer = "may only be used when `type` is 'LoadBalancer'"
)

func inValues(v string, values []string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// validateService checks a service on create and update.
func validateService(obj runtime.Object) field.ErrorList {
	svc := obj.(*corev1.Service)
	spec := &svc.Spec
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, serviceTopologyAnnotationErrs(svc)...)
	if len(spec.Ports) == 0 && !serviceIsHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	errs = append(errs, serviceTypeSpecificErrs(svc, specPath)...)
	names := map[string]bool{}
	for i := range spec.Ports {
		errs = append(errs, servicePortErrs(&spec.Ports[i], len(spec.Ports) > 1, names, specPath.Child("ports").Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, sessionAffinityErrs(spec, specPath)...)
	errs = append(errs, serviceClusterIPsErrs(svc)...)
	for i, ip := range spec.ExternalIPs {
		idx := specPath.Child("externalIPs").Index(i)
		if e := validation.IsValidIP(idx, ip); len(e) != 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, nonSpecialIPErrs(ip, idx)...)
		}
	}
	if spec.Type == "" {
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	} else if !inValues(string(spec.Type), serviceTypes) {
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, serviceTypes))
	}
	errs = append(errs, serviceNodePortErrs(svc, specPath.Child("ports"))...)
	errs = append(errs, serviceLoadBalancerErrs(svc, specPath)...)
	errs = append(errs, serviceTrafficPolicyErrs(svc, specPath)...)
	return errs
}

// serviceTopologyAnnotationErrs: the old and new topology annotations must agree.
func serviceTopologyAnnotationErrs(svc *corev1.Service) field.ErrorList {
	hints, hintsSet := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[corev1.AnnotationTopologyMode]
	if hintsSet && modeSet && hints != mode {
		path := field.NewPath("metadata", "annotations").Key(corev1.AnnotationTopologyMode)
		return field.ErrorList{field.Invalid(path, mode, fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints))}
	}
	return nil
}

// serviceTypeSpecificErrs: NodePort and LoadBalancer services cannot be
// headless; ExternalName services have no IPs and need a DNS name.
func serviceTypeSpecificErrs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	spec := &svc.Spec
	var errs field.ErrorList
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if serviceIsHeadless(svc) {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0],
				fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// A trailing dot marks a fully qualified name.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, dns1123SubdomainErrs(cname, specPath.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		}
	}
	return errs
}

// servicePortErrs checks one port; names are required (and unique) when
// there are several ports.
func servicePortErrs(p *corev1.ServicePort, requireName bool, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && p.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if p.Name != "" {
		errs = append(errs, dns1123LabelErrs(p.Name, path.Child("name"))...)
		if names[p.Name] {
			errs = append(errs, field.Duplicate(path.Child("name"), p.Name))
		}
		names[p.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), p.Port, msg))
	}
	if p.Protocol == "" {
		errs = append(errs, field.Required(path.Child("protocol"), ""))
	} else if !inValues(string(p.Protocol), portProtocols) {
		errs = append(errs, field.NotSupported(path.Child("protocol"), p.Protocol, portProtocols))
	}
	errs = append(errs, portNumOrNameErrs(p.TargetPort, path.Child("targetPort"))...)
	if p.NodePort != 0 {
		// The allocator checks the node port range; here only the port number.
		for _, msg := range validation.IsValidPortNum(int(p.NodePort)) {
			errs = append(errs, field.Invalid(path.Child("nodePort"), p.NodePort, msg))
		}
	}
	if p.AppProtocol != nil {
		errs = append(errs, qualifiedNameErrs(*p.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

// sessionAffinityErrs checks the affinity type and its ClientIP settings.
func sessionAffinityErrs(spec *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("sessionAffinity")
	if spec.SessionAffinity == "" {
		errs = append(errs, field.Required(path, ""))
	} else if !inValues(string(spec.SessionAffinity), serviceAffinities) {
		errs = append(errs, field.NotSupported(path, spec.SessionAffinity, serviceAffinities))
	}
	cfgPath := specPath.Child("sessionAffinityConfig")
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		need := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		cfg := spec.SessionAffinityConfig
		switch {
		case cfg == nil:
			errs = append(errs, field.Required(cfgPath, need))
		case cfg.ClientIP == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP"), need))
		case cfg.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP", "timeoutSeconds"), need))
		default:
			if t := cfg.ClientIP.TimeoutSeconds; *t <= 0 || *t > maxClientIPAffinitySeconds {
				errs = append(errs, field.Invalid(cfgPath.Child("clientIP", "timeoutSeconds"), t,
					fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
			}
		}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(cfgPath, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	}
	return errs
}

// serviceClusterIPsErrs checks clusterIP/clusterIPs/ipFamilies/ipFamilyPolicy
// together: at most one IP per family, "None" alone, families matching IPs.
func serviceClusterIPsErrs(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ipsPath := field.NewPath("spec", "clusterIPs")
	var errs field.ErrorList
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	errs = append(errs, ipFamilyFieldErrs(spec)...)
	badIPs := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				badIPs = true
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		e := validation.IsValidIP(ipsPath.Index(i), ip)
		badIPs = badIPs || len(e) != 0
		errs = append(errs, e...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if badIPs {
		// Further checks would only repeat the problem.
		return errs
	}
	if len(spec.ClusterIPs) > 1 {
		if dual, _ := netutils.IsDualStackIPStrings(spec.ClusterIPs); !dual {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !serviceIsHeadless(svc) {
		for i, ip := range spec.ClusterIPs {
			if i >= len(spec.IPFamilies) {
				break
			}
			v6 := netutils.IsIPv6String(ip)
			if spec.IPFamilies[i] == corev1.IPv4Protocol && v6 {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if spec.IPFamilies[i] == corev1.IPv6Protocol && !v6 {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// ipFamilyFieldErrs checks ipFamilies (known, no duplicates) and the policy.
func ipFamilyFieldErrs(spec *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	famPath := field.NewPath("spec", "ipFamilies")
	seen := map[corev1.IPFamily]bool{}
	for i, fam := range spec.IPFamilies {
		if !inValues(string(fam), ipFamilyNames) {
			errs = append(errs, field.NotSupported(famPath.Index(i), fam, ipFamilyNames))
		}
		if seen[fam] {
			errs = append(errs, field.Duplicate(famPath.Index(i), fam))
		}
		seen[fam] = true
	}
	if p := spec.IPFamilyPolicy; p != nil && !inValues(string(*p), ipFamilyPolicyNames) {
		errs = append(errs, field.NotSupported(field.NewPath("spec", "ipFamilyPolicy"), p, ipFamilyPolicyNames))
	}
	return errs
}

// serviceNodePortErrs: ClusterIP services have no node ports, and a node port
// serves one port per protocol; (protocol, port) pairs are unique.
func serviceNodePortErrs(svc *corev1.Service, portsPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if svc.Spec.Type == corev1.ServiceTypeClusterIP {
		for i, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				errs = append(errs, field.Forbidden(portsPath.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	nodePorts := map[corev1.ServicePort]bool{}
	for i, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		key := corev1.ServicePort{Protocol: p.Protocol, NodePort: p.NodePort}
		if nodePorts[key] {
			errs = append(errs, field.Duplicate(portsPath.Index(i).Child("nodePort"), p.NodePort))
		}
		nodePorts[key] = true
	}
	ports := map[corev1.ServicePort]bool{}
	for i, p := range svc.Spec.Ports {
		key := corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}
		if ports[key] {
			errs = append(errs, field.Duplicate(portsPath.Index(i), key))
		}
		ports[key] = true
	}
	return errs
}

// serviceLoadBalancerErrs checks source ranges, allocateLoadBalancerNodePorts
// and loadBalancerClass, which only LoadBalancer services may use.
func serviceLoadBalancerErrs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	spec := &svc.Spec
	isLB := spec.Type == corev1.ServiceTypeLoadBalancer
	var errs field.ErrorList
	if len(spec.LoadBalancerSourceRanges) > 0 {
		path := specPath.Child("LoadBalancerSourceRanges")
		if !isLB {
			errs = append(errs, field.Forbidden(path, msgOnlyForLoadBalancer))
		}
		for i, cidr := range spec.LoadBalancerSourceRanges {
			// Space padding is tolerated for historical reasons.
			errs = append(errs, validation.IsValidCIDR(path.Index(i), strings.TrimSpace(cidr))...)
		}
	} else if val, ok := svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]; ok {
		path := field.NewPath("metadata", "annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
		if !isLB {
			errs = append(errs, field.Forbidden(path, msgOnlyForLoadBalancer))
		}
		if val = strings.TrimSpace(val); val != "" {
			for _, cidr := range strings.Split(val, ",") {
				errs = append(errs, validation.IsValidCIDR(path, strings.TrimSpace(cidr))...)
			}
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && !isLB {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), msgOnlyForLoadBalancer))
	}
	if isLB && spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	if spec.LoadBalancerClass != nil {
		classPath := specPath.Child("loadBalancerClass")
		if isLB {
			errs = append(errs, qualifiedNameErrs(*spec.LoadBalancerClass, classPath)...)
		} else {
			errs = append(errs, field.Forbidden(classPath, msgOnlyForLoadBalancer))
		}
	}
	return errs
}

// serviceTrafficPolicyErrs checks externalTrafficPolicy, healthCheckNodePort,
// internalTrafficPolicy and trafficDistribution.
func serviceTrafficPolicyErrs(svc *corev1.Service, specPath *field.Path) field.ErrorList {
	spec := &svc.Spec
	var errs field.ErrorList
	etpPath := specPath.Child("externalTrafficPolicy")
	if !serviceExternallyAccessible(svc) {
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(etpPath, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else if spec.ExternalTrafficPolicy == "" {
		errs = append(errs, field.Required(etpPath, ""))
	} else if !inValues(string(spec.ExternalTrafficPolicy), trafficPolicies) {
		errs = append(errs, field.NotSupported(etpPath, spec.ExternalTrafficPolicy, trafficPolicies))
	}
	hcPath := specPath.Child("healthCheckNodePort")
	if !serviceNeedsHealthCheck(svc) {
		if spec.HealthCheckNodePort != 0 {
			errs = append(errs, field.Invalid(hcPath, spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	} else if spec.HealthCheckNodePort != 0 {
		// Zero is fine here: the allocator picks a port.
		for _, msg := range validation.IsValidPortNum(int(spec.HealthCheckNodePort)) {
			errs = append(errs, field.Invalid(hcPath, spec.HealthCheckNodePort, msg))
		}
	}
	itpPath := specPath.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if spec.Type == corev1.ServiceTypeClusterIP || serviceNeedsNodePorts(svc) {
			errs = append(errs, field.Required(itpPath, ""))
		}
	} else if !inValues(string(*spec.InternalTrafficPolicy), trafficPolicies) {
		errs = append(errs, field.NotSupported(itpPath, *spec.InternalTrafficPolicy, trafficPolicies))
	}
	if td := spec.TrafficDistribution; td != nil && !inValues(*td, trafficDistributions) {
		errs = append(errs, field.NotSupported(specPath.Child("trafficDistribution"), *td, trafficDistributions))
	}
	return errs
}

// validateServiceUpdate: cluster IPs and IP families keep their primary
// value (a secondary may be added or released) unless the service changes
// to or from ExternalName; loadBalancerClass and the health check node port
// stay as allocated.
func validateServiceUpdate(obj, old runtime.Object) field.ErrorList {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	var errs field.ErrorList
	errs = append(errs, clusterIPsTransitionErrs(prev, svc)...)
	errs = append(errs, ipFamiliesTransitionErrs(prev, svc)...)
	if prev.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		!sameOptionalString(prev.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "loadBalancerClass"), svc.Spec.LoadBalancerClass, "may not change once set"))
	}
	if serviceNeedsHealthCheck(prev) && serviceNeedsHealthCheck(svc) && prev.Spec.HealthCheckNodePort != svc.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return errs
}

func clusterIPsTransitionErrs(prev, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || prev.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if serviceIsHeadless(prev) && serviceIsHeadless(svc) {
		return nil
	}
	oldIPs, newIPs := prev.Spec.ClusterIPs, svc.Spec.ClusterIPs
	path := field.NewPath("spec", "clusterIPs")
	var errs field.ErrorList
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(path.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, "primary clusterIP can not be unset"))
		}
		if len(oldIPs) > 0 && len(newIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, "may not change once set"))
		}
		if len(newIPs) == 1 && !isSingleStack(svc.Spec.IPFamilyPolicy) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(path.Index(0), newIPs, "may not change once set"))
		}
	}
	return errs
}

func isSingleStack(p *corev1.IPFamilyPolicy) bool {
	return p != nil && *p == corev1.IPFamilyPolicySingleStack
}

func ipFamiliesTransitionErrs(prev, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || prev.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	// Headless services may change families, and so may a change to or
	// from headless.
	if serviceIsHeadless(prev) || serviceIsHeadless(svc) {
		return nil
	}
	oldFams, newFams := prev.Spec.IPFamilies, svc.Spec.IPFamilies
	path := field.NewPath("spec", "ipFamilies").Index(0)
	var errs field.ErrorList
	switch {
	case len(oldFams) == len(newFams):
		for i := range oldFams {
			if oldFams[i] != newFams[i] {
				errs = append(errs, field.Invalid(path, newFams, "may not change once set"))
			}
		}
	case len(oldFams) > len(newFams):
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(path, newFams, "primary ipFamily can not be unset"))
		}
		if len(newFams) > 0 && newFams[0] != oldFams[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, "may not change once set"))
		}
		if len(newFams) == 1 && !isSingleStack(svc.Spec.IPFamilyPolicy) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldFams) > 0 && newFams[0] != oldFams[0] {
			errs = append(errs, field.Invalid(path, svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}

// validateServiceStatus checks load balancer ingress points, which only
// LoadBalancer services may have.
func validateServiceStatus(obj, _ runtime.Object) field.ErrorList {
	svc := obj.(*corev1.Service)
	path := field.NewPath("status", "loadBalancer", "ingress")
	ingress := svc.Status.LoadBalancer.Ingress
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && len(ingress) != 0 {
		return field.ErrorList{field.Forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'")}
	}
	var errs field.ErrorList
	for i, ing := range ingress {
		idx := path.Index(i)
		if ing.IP != "" {
			errs = append(errs, validation.IsValidIP(idx.Child("ip"), ing.IP)...)
		}
		switch {
		case ing.IPMode == nil && ing.IP != "":
			errs = append(errs, field.Required(idx.Child("ipMode"), "must be specified when `ip` is set"))
		case ing.IPMode != nil && ing.IP == "":
			errs = append(errs, field.Forbidden(idx.Child("ipMode"), "may not be specified when `ip` is not set"))
		case ing.IPMode != nil && !inValues(string(*ing.IPMode), loadBalancerIPModes):
			errs = append(errs, field.NotSupported(idx.Child("ipMode"), ing.IPMode, loadBalancerIPModes))
		}
		if ing.Hostname != "" {
			errs = append(errs, dns1123SubdomainErrs(ing.Hostname, idx.Child("hostname"))...)
			if netutils.ParseIPSloppy(ing.Hostname) != nil {
				errs = append(errs, field.Invalid(idx.Child("hostname"), ing.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}
