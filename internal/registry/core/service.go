package core

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	netutils "k8s.io/utils/net"

	"github.com/skiff/skiff/internal/registry"
)

// Services. Cluster IPs and node ports are allocated elsewhere (the API
// server); this file only defaults, normalizes and validates what the client
// sent, and carries allocated values over on updates that omit them.

var serviceStrategy = registry.Strategy{
	Default:          defaultService,
	PrepareForCreate: prepareServiceCreate,
	PrepareForUpdate: prepareServiceUpdate,
	Validate:         validateService,
	ValidateUpdate:   validateServiceUpdate,
	ValidateStatus:   validateServiceStatus,
	NameValidator:    apivalidation.NameIsDNS1035Label,
}

// maxClientIPAffinitySeconds bounds sessionAffinityConfig.clientIP.timeoutSeconds.
const maxClientIPAffinitySeconds = 86400

// defaultService applies Kubernetes' Service defaults, plus the IP family
// fields Kubernetes sets while allocating (skiff serves IPv4 by default).
func defaultService(obj runtime.Object) {
	svc := obj.(*corev1.Service)
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		c := spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			timeout := corev1.DefaultClientIPServiceAffinitySeconds
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if serviceExternallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	proxied := spec.Type == corev1.ServiceTypeClusterIP || serviceNeedsNodePorts(svc)
	if spec.InternalTrafficPolicy == nil && proxied {
		policy := corev1.ServiceInternalTrafficPolicyCluster
		spec.InternalTrafficPolicy = &policy
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			yes := true
			spec.AllocateLoadBalancerNodePorts = &yes
		}
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				mode := corev1.LoadBalancerIPModeVIP
				svc.Status.LoadBalancer.Ingress[i].IPMode = &mode
			}
		}
	}
	defaultServiceIPFamilies(spec)
}

// defaultServiceIPFamilies fills ipFamilyPolicy and ipFamilies. Without a
// policy a service is single-stack, unless the client asked for two IPs or
// families, or it is headless without a selector (those get both families).
// Families come from the given cluster IPs, then IPv4.
func defaultServiceIPFamilies(spec *corev1.ServiceSpec) {
	if spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	ips := spec.ClusterIPs
	if len(ips) == 0 && spec.ClusterIP != "" {
		ips = []string{spec.ClusterIP}
	}
	headless := len(ips) > 0 && ips[0] == corev1.ClusterIPNone
	selectorless := headless && len(spec.Selector) == 0
	if spec.IPFamilyPolicy == nil {
		policy := corev1.IPFamilyPolicySingleStack
		if len(ips) == 2 || len(spec.IPFamilies) == 2 || (selectorless && len(spec.IPFamilies) == 0) {
			policy = corev1.IPFamilyPolicyRequireDualStack
		}
		spec.IPFamilyPolicy = &policy
	}
	if !headless {
		for i, ip := range ips {
			if i < len(spec.IPFamilies) || netutils.ParseIPSloppy(ip) == nil {
				continue
			}
			if netutils.IsIPv6String(ip) {
				spec.IPFamilies = append(spec.IPFamilies, corev1.IPv6Protocol)
			} else {
				spec.IPFamilies = append(spec.IPFamilies, corev1.IPv4Protocol)
			}
		}
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	dual := *spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack
	if selectorless && dual && len(spec.IPFamilies) == 1 {
		other := corev1.IPv6Protocol
		if spec.IPFamilies[0] == corev1.IPv6Protocol {
			other = corev1.IPv4Protocol
		}
		spec.IPFamilies = append(spec.IPFamilies, other)
	}
}

// serviceExternallyAccessible: reachable from outside the cluster, so
// externalTrafficPolicy applies.
func serviceExternallyAccessible(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeClusterIP:
		return len(svc.Spec.ExternalIPs) > 0
	}
	return false
}

func serviceNeedsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName
}

func serviceNeedsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// serviceNeedsHealthCheck: LoadBalancer services with the Local policy get a
// health check node port.
func serviceNeedsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func serviceIsHeadless(svc *corev1.Service) bool {
	return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// prepareServiceCreate mirrors spec.clusterIP into spec.clusterIPs for
// clients that only know the singular field.
func prepareServiceCreate(obj runtime.Object) {
	spec := &obj.(*corev1.Service).Spec
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
}

// prepareServiceUpdate keeps allocated values the client left out, keeps
// clusterIP and clusterIPs consistent, and drops fields that only applied
// to the previous type (when the client did not touch them).
func prepareServiceUpdate(obj, old runtime.Object) {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	keepServiceAllocations(svc, prev)
	normalizeServiceClusterIPs(svc, prev)
	dropServiceTypeFields(svc, prev)
}

// keepServiceAllocations copies the cluster IPs, node ports and health check
// port of the stored service into an update that left them empty, so that a
// replace with the original manifest does not look like a change.
func keepServiceAllocations(svc, prev *corev1.Service) {
	if serviceNeedsClusterIP(prev) && serviceNeedsClusterIP(svc) {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = prev.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && len(prev.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIPs = append([]string(nil), prev.Spec.ClusterIPs...)
		}
	}
	if serviceNeedsNodePorts(prev) && serviceNeedsNodePorts(svc) {
		// Ports are matched by name: the client may have changed the rest.
		oldPorts := map[string]int32{}
		for _, p := range prev.Spec.Ports {
			oldPorts[p.Name] = p.NodePort
		}
		inUse := map[int32]bool{}
		for _, p := range svc.Spec.Ports {
			inUse[p.NodePort] = true
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			if np := oldPorts[p.Name]; np != 0 && !inUse[np] {
				p.NodePort = np
				inUse[np] = true
			}
		}
	}
	if serviceNeedsHealthCheck(prev) && serviceNeedsHealthCheck(svc) && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = prev.Spec.HealthCheckNodePort
	}
}

// normalizeServiceClusterIPs reconciles clusterIP and clusterIPs when a
// client changed only one of them.
func normalizeServiceClusterIPs(svc, prev *corev1.Service) {
	spec, old := &svc.Spec, &prev.Spec
	if len(old.ClusterIPs) > 0 && len(spec.ClusterIPs) == 0 && old.ClusterIP == spec.ClusterIP {
		spec.ClusterIPs = append([]string(nil), old.ClusterIPs...)
	}
	if old.ClusterIP == spec.ClusterIP || !equalStringLists(old.ClusterIPs, spec.ClusterIPs) {
		return
	}
	if spec.ClusterIP == "" {
		spec.ClusterIPs = nil
	} else {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
}

// dropServiceTypeFields clears, on a type change, the fields the old type
// needed and the new one forbids, when the client did not change them.
func dropServiceTypeFields(svc, prev *corev1.Service) {
	spec, old := &svc.Spec, &prev.Spec
	if serviceNeedsClusterIP(prev) && !serviceNeedsClusterIP(svc) {
		if spec.ClusterIP == old.ClusterIP && equalStringLists(spec.ClusterIPs, old.ClusterIPs) {
			spec.ClusterIP, spec.ClusterIPs = "", nil
		}
		if sameFamilies(spec.IPFamilies, old.IPFamilies) {
			spec.IPFamilies = nil
		}
		if samePolicy(spec.IPFamilyPolicy, old.IPFamilyPolicy) {
			spec.IPFamilyPolicy = nil
		}
	}
	if serviceNeedsNodePorts(prev) && !serviceNeedsNodePorts(svc) && sameNodePorts(spec.Ports, old.Ports) {
		for i := range spec.Ports {
			spec.Ports[i].NodePort = 0
		}
	}
	if serviceNeedsHealthCheck(prev) && !serviceNeedsHealthCheck(svc) && spec.HealthCheckNodePort == old.HealthCheckNodePort {
		spec.HealthCheckNodePort = 0
	}
	if old.Type == corev1.ServiceTypeLoadBalancer && spec.Type != corev1.ServiceTypeLoadBalancer {
		a, b := spec.AllocateLoadBalancerNodePorts, old.AllocateLoadBalancerNodePorts
		if a != nil && b != nil && *a == *b {
			spec.AllocateLoadBalancerNodePorts = nil
		}
		if sameOptionalString(spec.LoadBalancerClass, old.LoadBalancerClass) {
			spec.LoadBalancerClass = nil
		}
	}
	if serviceExternallyAccessible(prev) && !serviceExternallyAccessible(svc) && spec.ExternalTrafficPolicy == old.ExternalTrafficPolicy {
		spec.ExternalTrafficPolicy = ""
	}
	if spec.Type != corev1.ServiceTypeLoadBalancer {
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
	}
}

func equalStringLists(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameFamilies(a, b []corev1.IPFamily) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func samePolicy(a, b *corev1.IPFamilyPolicy) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func sameOptionalString(a, b *string) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// sameNodePorts compares the node ports of two port lists, position by position.
func sameNodePorts(a, b []corev1.ServicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].NodePort != b[i].NodePort {
			return false
		}
	}
	return true
}

var serviceTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Type", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["type"]),
		registry.Column("Cluster-IP", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
		registry.Column("External-IP", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
		registry.Column("Port(s)", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
		registry.AgeColumn,
		registry.Column("Selector", "string", 1, corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		svc := obj.(*corev1.Service)
		clusterIP := "<none>"
		if len(svc.Spec.ClusterIPs) > 0 {
			clusterIP = svc.Spec.ClusterIPs[0]
		}
		return []interface{}{svc.Name, string(svc.Spec.Type), clusterIP, serviceExternalIP(svc),
			registry.NoneIfEmpty(servicePortsString(svc.Spec.Ports)), registry.Age(svc.CreationTimestamp),
			labels.FormatLabels(svc.Spec.Selector)}
	},
}

// serviceExternalIP is the EXTERNAL-IP cell: external IPs, load balancer
// ingress points (or <pending>), or the external name.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		ingress := loadBalancerIngressList(svc.Status.LoadBalancer)
		all := append(ingress, svc.Spec.ExternalIPs...)
		if len(all) > 0 {
			return strings.Join(all, ",")
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerIngressList returns the sorted, distinct IPs (or host names)
// of the ingress points.
func loadBalancerIngressList(st corev1.LoadBalancerStatus) []string {
	seen := map[string]bool{}
	var out []string
	for _, ing := range st.Ingress {
		v := ing.IP
		if v == "" {
			v = ing.Hostname
		}
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// servicePortsString formats ports as "80/TCP,443:30443/TCP".
func servicePortsString(ports []corev1.ServicePort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			parts[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			parts[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(parts, ",")
}
