package endpointutil

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Include reports whether the pod belongs in a service's endpoints: it
// has an IP, has not terminated (Succeeded or Failed), and, unless
// includeTerminating, is not being deleted.
func Include(p *corev1.Pod, includeTerminating bool) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	if p.Status.PodIP == "" && len(p.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || p.DeletionTimestamp == nil
}

// Ready reports whether the pod's Ready condition is true.
func Ready(p *corev1.Pod) bool {
	c := readyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

func readyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// Hostname returns the hostname the pod's endpoint carries in the
// service's endpoints: the pod's spec.hostname when its subdomain is the
// service, else "".
func Hostname(p *corev1.Pod, svc *corev1.Service) string {
	if p.Spec.Subdomain == svc.Name && p.Namespace == svc.Namespace {
		return p.Spec.Hostname
	}
	return ""
}

// PodIPs returns the pod's IPs, primary first: status.podIPs, or
// status.podIP when the former is empty.
func PodIPs(p *corev1.Pod) []string {
	if len(p.Status.PodIPs) == 0 {
		if p.Status.PodIP == "" {
			return nil
		}
		return []string{p.Status.PodIP}
	}
	out := make([]string, len(p.Status.PodIPs))
	for i, ip := range p.Status.PodIPs {
		out[i] = ip.IP
	}
	return out
}

// IsIPv6 reports whether ip is an IPv6 address (an IPv4-mapped one is
// IPv4).
func IsIPv6(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is6() && !a.Is4In6()
}

// FindPort resolves the service port's target port on the pod: a number
// as is (0, the unset value, meaning the service port), a name as the
// container port of that name and the service port's protocol, looked up
// in the containers and the sidecars (restartable init containers).
// ok is false when the pod has no such named port.
func FindPort(p *corev1.Pod, sp *corev1.ServicePort) (port int32, ok bool) {
	name := sp.TargetPort.StrVal
	if sp.TargetPort.Type != intstr.String || name == "" {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, true
		}
		return sp.TargetPort.IntVal, true
	}
	proto := protocol(sp.Protocol)
	match := func(c *corev1.Container) (int32, bool) {
		for _, cp := range c.Ports {
			if cp.Name == name && protocol(cp.Protocol) == proto {
				return cp.ContainerPort, true
			}
		}
		return 0, false
	}
	for i := range p.Spec.Containers {
		if port, ok := match(&p.Spec.Containers[i]); ok {
			return port, true
		}
	}
	for i := range p.Spec.InitContainers {
		c := &p.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		if port, ok := match(c); ok {
			return port, true
		}
	}
	return 0, false
}

// protocol defaults an unset protocol to TCP, as the API server does.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// Protocol returns the service port's protocol, TCP if unset.
func Protocol(sp *corev1.ServicePort) corev1.Protocol { return protocol(sp.Protocol) }

// PodChanged reports whether an update changed what endpoints show of
// the pod, apart from its labels: its readiness, deletion, IPs, phase
// reaching an end, node, hostname or subdomain.
func PodChanged(old, cur *corev1.Pod) bool {
	return (old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		Ready(old) != Ready(cur) ||
		!slices.Equal(PodIPs(old), PodIPs(cur)) ||
		Include(old, true) != Include(cur, true) ||
		old.Spec.NodeName != cur.Spec.NodeName ||
		old.Spec.Hostname != cur.Spec.Hostname ||
		old.Spec.Subdomain != cur.Spec.Subdomain
}
