package agent

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/agent/envvars"
)

// CPU and OOM constants as the kubelet uses them on cgroup v1.
const (
	minShares     = 2
	sharesPerCPU  = 1024
	quotaPeriod   = 100000 // 100 ms
	minQuota      = 1000
	guaranteedOOM = -997
	besteffortOOM = 1000
)

// containerResources maps requests and limits to cgroup settings: CPU
// shares from the request, CFS quota from the limit, the memory limit, and
// the OOM score by QoS class.
func containerResources(pod *corev1.Pod, c *corev1.Container) *criv1.LinuxContainerResources {
	r := &criv1.LinuxContainerResources{}
	cpuReq := c.Resources.Requests.Cpu().MilliValue()
	cpuLim := c.Resources.Limits.Cpu().MilliValue()
	if cpuReq == 0 && cpuLim > 0 {
		cpuReq = cpuLim
	}
	r.CpuShares = cpuReq * sharesPerCPU / 1000
	if r.CpuShares < minShares {
		r.CpuShares = minShares
	}
	if cpuLim > 0 {
		r.CpuPeriod = quotaPeriod
		r.CpuQuota = cpuLim * quotaPeriod / 1000
		if r.CpuQuota < minQuota {
			r.CpuQuota = minQuota
		}
	}
	if mem := c.Resources.Limits.Memory().Value(); mem > 0 {
		r.MemoryLimitInBytes = mem
	}
	r.OomScoreAdj = oomScoreAdj(pod, c)
	return r
}

// oomScoreAdj follows the kubelet: Guaranteed pods are protected,
// BestEffort ones go first, Burstable ones by their memory request.
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container) int64 {
	switch pod.Status.QOSClass {
	case corev1.PodQOSGuaranteed:
		return guaranteedOOM
	case corev1.PodQOSBestEffort:
		return besteffortOOM
	}
	const capacity = 16 << 30 // nominal node memory for the formula
	req := c.Resources.Requests.Memory().Value()
	adj := 1000 - (1000*req)/capacity
	if adj < 2 {
		adj = 2
	}
	if adj >= besteffortOOM {
		adj = besteffortOOM - 1
	}
	return adj
}

// Paths masked or read-only in unprivileged containers, as the kubelet
// sends them.
var (
	maskedPaths   = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// securityContext merges the pod's and container's security settings.
func securityContext(pod *corev1.Pod, c *corev1.Container) *criv1.LinuxContainerSecurityContext {
	sc := &criv1.LinuxContainerSecurityContext{
		NamespaceOptions: &criv1.NamespaceOption{Network: criv1.NamespaceMode_POD, Pid: criv1.NamespaceMode_CONTAINER, Ipc: criv1.NamespaceMode_POD},
		MaskedPaths:      maskedPaths, ReadonlyPaths: readonlyPaths,
	}
	if pod.Spec.HostNetwork {
		sc.NamespaceOptions.Network = criv1.NamespaceMode_NODE
	}
	if pod.Spec.HostPID {
		sc.NamespaceOptions.Pid = criv1.NamespaceMode_NODE
	} else if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		sc.NamespaceOptions.Pid = criv1.NamespaceMode_POD
	}
	if pod.Spec.HostIPC {
		sc.NamespaceOptions.Ipc = criv1.NamespaceMode_NODE
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &criv1.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &criv1.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = psc.SupplementalGroups
	}
	csc := c.SecurityContext
	if csc == nil {
		return sc
	}
	if csc.RunAsUser != nil {
		sc.RunAsUser = &criv1.Int64Value{Value: *csc.RunAsUser}
	}
	if csc.RunAsGroup != nil {
		sc.RunAsGroup = &criv1.Int64Value{Value: *csc.RunAsGroup}
	}
	if csc.ReadOnlyRootFilesystem != nil {
		sc.ReadonlyRootfs = *csc.ReadOnlyRootFilesystem
	}
	if csc.Privileged != nil && *csc.Privileged {
		sc.Privileged, sc.MaskedPaths, sc.ReadonlyPaths = true, nil, nil
	}
	if csc.AllowPrivilegeEscalation != nil {
		sc.NoNewPrivs = !*csc.AllowPrivilegeEscalation
	}
	if caps := csc.Capabilities; caps != nil {
		sc.Capabilities = &criv1.Capability{AddCapabilities: capNames(caps.Add), DropCapabilities: capNames(caps.Drop)}
	}
	return sc
}

// capNames passes capabilities as the kubelet does, without the CAP_
// prefix: containerd adds it.
func capNames(caps []corev1.Capability) []string {
	out := make([]string, 0, len(caps))
	for _, c := range caps {
		out = append(out, strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_"))
	}
	return out
}

// expandAll expands $(VAR) references in command and args as Kubernetes
// does.
func expandAll(in []string, values map[string]string) []string {
	if in == nil {
		return nil
	}
	lookup := envvars.MapLookup(values)
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = envvars.Expand(s, lookup)
	}
	return out
}
