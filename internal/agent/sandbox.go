package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// startSandbox stops a dead sandbox's leftovers and runs a new one.
func (a *Agent) startSandbox(ctx context.Context, pod *corev1.Pod, rp *runtimePod, st *podState) error {
	attempt := uint32(len(rp.Sandboxes))
	for _, sb := range rp.Sandboxes {
		a.stopSandbox(ctx, sb.Id)
	}
	cfg, err := a.sandboxConfig(pod, attempt)
	if err != nil {
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		return err
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		return fmt.Errorf("pod log dir: %w", err)
	}
	_, err = a.rt.Runtime.RunPodSandbox(ctx, &criv1.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		a.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		a.waitAll(pod, st, "ContainerCreating", "")
		a.backoff.next(backoffKey(pod, "sandbox"))
		return err
	}
	if attempt > 0 {
		a.recorder.Eventf(pod, corev1.EventTypeNormal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
	}
	return nil
}

func (a *Agent) stopSandbox(ctx context.Context, id string) {
	if _, err := a.rt.Runtime.StopPodSandbox(ctx, &criv1.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		a.log.Debug("stop sandbox", "id", id, "err", err)
	}
}

// podLogDir is where the runtime writes a pod's container logs.
func (a *Agent) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(a.cfg.DataDir, "logs", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// sandboxConfig describes the pod's sandbox to CRI. It is deterministic:
// CreateContainer needs it again.
func (a *Agent) sandboxConfig(pod *corev1.Pod, attempt uint32) (*criv1.PodSandboxConfig, error) {
	dns, err := a.dnsConfig(pod)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range pod.Labels {
		labels[k] = v
	}
	labels[labelPodName], labels[labelPodNamespace], labels[labelPodUID] = pod.Name, pod.Namespace, string(pod.UID)
	annotations := map[string]string{}
	for k, v := range pod.Annotations {
		annotations[k] = v
	}
	annotations[annoTerminationGrace] = strconv.FormatInt(gracePeriod(pod), 10)
	return &criv1.PodSandboxConfig{
		Metadata:     &criv1.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Hostname:     podHostname(pod),
		LogDirectory: a.podLogDir(pod),
		DnsConfig:    dns,
		PortMappings: portMappings(pod),
		Labels:       labels,
		Annotations:  annotations,
		Linux:        a.sandboxLinux(pod),
	}, nil
}

func podHostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func portMappings(pod *corev1.Pod) []*criv1.PortMapping {
	var out []*criv1.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := criv1.Protocol_TCP
			switch p.Protocol {
			case corev1.ProtocolUDP:
				proto = criv1.Protocol_UDP
			case corev1.ProtocolSCTP:
				proto = criv1.Protocol_SCTP
			}
			out = append(out, &criv1.PortMapping{Protocol: proto, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP})
		}
	}
	return out
}

func (a *Agent) sandboxLinux(pod *corev1.Pod) *criv1.LinuxPodSandboxConfig {
	ns := &criv1.NamespaceOption{Network: criv1.NamespaceMode_POD, Pid: criv1.NamespaceMode_CONTAINER, Ipc: criv1.NamespaceMode_POD}
	if pod.Spec.HostNetwork {
		ns.Network = criv1.NamespaceMode_NODE
	}
	if pod.Spec.HostPID {
		ns.Pid = criv1.NamespaceMode_NODE
	} else if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		ns.Pid = criv1.NamespaceMode_POD
	}
	if pod.Spec.HostIPC {
		ns.Ipc = criv1.NamespaceMode_NODE
	}
	sc := &criv1.LinuxSandboxSecurityContext{NamespaceOptions: ns, Privileged: anyPrivileged(pod)}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &criv1.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &criv1.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = psc.SupplementalGroups
	}
	linux := &criv1.LinuxPodSandboxConfig{CgroupParent: a.podCgroup(pod), SecurityContext: sc}
	if psc := pod.Spec.SecurityContext; psc != nil && len(psc.Sysctls) > 0 {
		linux.Sysctls = map[string]string{}
		for _, s := range psc.Sysctls {
			linux.Sysctls[s.Name] = s.Value
		}
	}
	return linux
}

// podCgroup is the pod's cgroup (cgroupfs layout): <parent>/pod<uid>.
func (a *Agent) podCgroup(pod *corev1.Pod) string {
	return strings.TrimSuffix(a.cfg.CgroupParent, "/") + "/pod" + string(pod.UID)
}

func anyPrivileged(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				return true
			}
		}
	}
	return false
}

// dnsConfig builds resolv.conf for a pod from its dnsPolicy, as the
// kubelet does.
func (a *Agent) dnsConfig(pod *corev1.Pod) (*criv1.DNSConfig, error) {
	policy := pod.Spec.DNSPolicy
	if policy == corev1.DNSClusterFirstWithHostNet {
		policy = corev1.DNSClusterFirst
	} else if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	cfg := &criv1.DNSConfig{}
	switch policy {
	case corev1.DNSNone:
	case corev1.DNSDefault:
		cfg = hostDNS()
	default:
		host := hostDNS()
		domain := a.cfg.ClusterDomain
		cfg.Servers = []string{a.cfg.ClusterDNS.String()}
		cfg.Searches = append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, host.Searches...)
		cfg.Options = []string{"ndots:5"}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		cfg.Servers = append(cfg.Servers, dc.Nameservers...)
		cfg.Searches = append(cfg.Searches, dc.Searches...)
		for _, o := range dc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			cfg.Options = append(cfg.Options, opt)
		}
	}
	if len(cfg.Searches) > 32 {
		cfg.Searches = cfg.Searches[:32]
	}
	return cfg, nil
}

// hostDNS reads the host's resolv.conf.
func hostDNS() *criv1.DNSConfig {
	data, err := os.ReadFile("/etc/resolv.conf")
	cfg := &criv1.DNSConfig{}
	if err != nil {
		return cfg
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			cfg.Servers = append(cfg.Servers, f[1])
		case "search", "domain":
			cfg.Searches = append(cfg.Searches, f[1:]...)
		case "options":
			cfg.Options = append(cfg.Options, f[1:]...)
		}
	}
	return cfg
}
