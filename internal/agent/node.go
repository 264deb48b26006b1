package agent

import (
	"context"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"path/filepath"

	"github.com/skiff/skiff/internal/agent/volume"
	"github.com/skiff/skiff/internal/network"
	"github.com/skiff/skiff/internal/network/cni"
)

// Node timings, as the kubelet's defaults.
const (
	leaseDuration    = 40
	leaseRenew       = 10 * time.Second
	statusPeriod     = 10 * time.Second
	statusReportedAt = 5 * time.Minute
)

// nodeManager registers the node, renews its lease and keeps its status.
type nodeManager struct {
	a        *Agent
	capacity corev1.ResourceList
	alloc    corev1.ResourceList

	mu         sync.Mutex
	podCIDR    string
	lastReport time.Time
}

func newNodeManager(a *Agent) *nodeManager {
	m := &nodeManager{a: a}
	m.capacity, m.alloc = machineResources(a.cfg.DataDir)
	return m
}

func (m *nodeManager) allocatable() corev1.ResourceList { return m.alloc.DeepCopy() }

// machineResources measures the machine: capacity, and allocatable with
// the kubelet's hard eviction thresholds held back (100Mi memory, 10 % of
// the disk).
func machineResources(dir string) (corev1.ResourceList, corev1.ResourceList) {
	mem := memTotal()
	var fs unix.Statfs_t
	disk := int64(0)
	if unix.Statfs(dir, &fs) == nil {
		disk = int64(fs.Blocks) * fs.Bsize
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(disk, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.BinarySI),
	}
	alloc := capacity.DeepCopy()
	alloc[corev1.ResourceMemory] = *resource.NewQuantity(mem-100<<20, resource.BinarySI)
	alloc[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(disk*9/10, resource.BinarySI)
	return capacity, alloc
}

func memTotal() int64 {
	data, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			q, err := resource.ParseQuantity(f[1] + "Ki")
			if err == nil {
				return q.Value()
			}
		}
	}
	return 0
}

// run registers the node and then keeps its lease and status current.
func (m *nodeManager) run(ctx context.Context) error {
	for {
		err := m.register(ctx)
		if err == nil {
			break
		}
		m.a.log.Warn("register node", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	go m.renewLease(ctx)
	for {
		ready := m.syncStatus(ctx)
		// Until the node is Ready (it waits for its pod CIDR), look again
		// every second rather than every statusPeriod.
		wait := statusPeriod
		if !ready {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// register creates the Node, or adopts the existing one.
func (m *nodeManager) register(ctx context.Context) error {
	nodes := m.a.client.CoreV1().Nodes()
	want := m.initialNode(ctx)
	cur, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = nodes.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	changed := false
	for k, v := range want.Labels {
		if cur.Labels[k] != v {
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			cur.Labels[k], changed = v, true
		}
	}
	for k, v := range want.Annotations {
		if cur.Annotations[k] != v {
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[k], changed = v, true
		}
	}
	if changed {
		_, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
	}
	return err
}

func (m *nodeManager) initialNode(ctx context.Context) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname: m.a.cfg.NodeName, corev1.LabelOSStable: "linux", corev1.LabelArchStable: goruntime.GOARCH,
		"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": goruntime.GOARCH,
	}
	for k, v := range m.a.cfg.Labels {
		labels[k] = v
	}
	// The local-path provisioner puts this node's volumes under its
	// storage root.
	annotations := map[string]string{volume.StorageRootAnnotation: volume.StorageRoot(m.a.cfg.DataDir)}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: m.a.cfg.NodeName, Labels: labels, Annotations: annotations}}
	n.Status = m.status(ctx, nil)
	return n
}

// status computes the node's status; old carries the previous conditions.
func (m *nodeManager) status(ctx context.Context, old *corev1.Node) corev1.NodeStatus {
	s := corev1.NodeStatus{
		Capacity: m.capacity.DeepCopy(), Allocatable: m.alloc.DeepCopy(),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: m.a.cfg.NodeIP.String()},
			{Type: corev1.NodeHostName, Address: m.a.cfg.NodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(m.a.port)}},
		NodeInfo:        m.nodeInfo(ctx),
		Images:          m.images(ctx),
	}
	ready, reason, msg := m.readiness(ctx)
	var oldConds []corev1.NodeCondition
	if old != nil {
		oldConds = old.Status.Conditions
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	for _, c := range []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: ready, Reason: reason, Message: msg},
	} {
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, o := range oldConds {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		s.Conditions = append(s.Conditions, c)
	}
	return s
}

// readiness is Ready when the runtime and its network are.
func (m *nodeManager) readiness(ctx context.Context) (corev1.ConditionStatus, string, string) {
	resp, err := m.a.rt.Runtime.Status(ctx, &criv1.StatusRequest{})
	if err != nil {
		return corev1.ConditionFalse, "KubeletNotReady", "container runtime is down: " + err.Error()
	}
	for _, c := range resp.Status.GetConditions() {
		if !c.Status {
			return corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready: " + c.Type + "=false reason:" + c.Reason + " message:" + c.Message
		}
	}
	return corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"
}

func (m *nodeManager) nodeInfo(ctx context.Context) corev1.NodeSystemInfo {
	var u unix.Utsname
	_ = unix.Uname(&u)
	info := corev1.NodeSystemInfo{
		MachineID: readTrim("/etc/machine-id"), SystemUUID: readTrim("/sys/class/dmi/id/product_uuid"),
		BootID: readTrim("/proc/sys/kernel/random/boot_id"), KernelVersion: unix.ByteSliceToString(u.Release[:]),
		OSImage: osImage(), OperatingSystem: "linux", Architecture: goruntime.GOARCH, KubeletVersion: m.a.cfg.Version,
	}
	if v, err := m.a.rt.Runtime.Version(ctx, &criv1.VersionRequest{}); err == nil {
		info.ContainerRuntimeVersion = v.RuntimeName + "://" + v.RuntimeVersion
	}
	return info
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func osImage() string {
	for _, line := range strings.Split(readTrim("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// images lists the node's images for the scheduler's image locality.
func (m *nodeManager) images(ctx context.Context) []corev1.ContainerImage {
	resp, err := m.a.rt.Images.ListImages(ctx, &criv1.ListImagesRequest{})
	if err != nil {
		return nil
	}
	var out []corev1.ContainerImage
	for _, img := range resp.Images {
		names := append(append([]string{}, img.RepoTags...), img.RepoDigests...)
		if len(names) > 0 {
			out = append(out, corev1.ContainerImage{Names: names, SizeBytes: int64(img.Size)})
		}
	}
	return out
}

// syncStatus writes the node status when it changed, and at least every
// five minutes; it also sets up the pod network once the node has a pod
// CIDR. It reports whether the node is Ready.
func (m *nodeManager) syncStatus(ctx context.Context) bool {
	node, err := m.a.client.CoreV1().Nodes().Get(ctx, m.a.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			_ = m.register(ctx)
		}
		return false
	}
	m.setupNetwork(node)
	s := m.status(ctx, node)
	ready := false
	for _, c := range s.Conditions {
		ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
	}
	if m.sameStatus(node.Status, s) && time.Since(m.lastReport) < statusReportedAt {
		return ready
	}
	next := node.DeepCopy()
	next.Status = s
	if _, err := m.a.client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		m.a.log.Debug("update node status", "err", err)
		return false
	}
	m.lastReport = time.Now()
	return ready
}

// sameStatus compares two statuses but for heartbeat times.
func (m *nodeManager) sameStatus(a, b corev1.NodeStatus) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	for _, s := range []*corev1.NodeStatus{&a, &b} {
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}

// setupNetwork writes the CNI configuration for the node's pod CIDR.
func (m *nodeManager) setupNetwork(node *corev1.Node) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if node.Spec.PodCIDR == "" || node.Spec.PodCIDR == m.podCIDR {
		return
	}
	err := cni.Write(cni.Config{Dir: m.a.cniConfDir(), Bridge: m.a.cfg.CNIBridge, PodCIDR: node.Spec.PodCIDR,
		IPMasq:  m.a.cfg.DisableProxy,
		IPAMDir: filepath.Join(m.a.cfg.DataDir, "cni-ipam")})
	if err != nil {
		m.a.log.Warn("write CNI config", "err", err)
		return
	}
	if err := network.EnsureUnreachable(m.a.cfg.ClusterCIDR); err != nil {
		m.a.log.Warn("containment routes", "err", err)
	}
	// Cluster IPs: through the proxy when it runs, else nowhere.
	if m.a.cfg.DisableProxy {
		err = network.EnsureUnreachable(m.a.cfg.ServiceCIDR)
	} else {
		err = network.RouteServices(m.a.cfg.CNIBridge, m.a.cfg.ServiceCIDR)
	}
	if err != nil {
		m.a.log.Warn("service CIDR route", "err", err)
	}
	m.podCIDR = node.Spec.PodCIDR
	m.a.log.Info("pod network configured", "podCIDR", node.Spec.PodCIDR)
}

// renewLease keeps the node's Lease in kube-node-lease fresh.
func (m *nodeManager) renewLease(ctx context.Context) {
	tick := time.NewTicker(leaseRenew)
	defer tick.Stop()
	for {
		if err := m.touchLease(ctx); err != nil {
			m.a.log.Debug("renew lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *nodeManager) touchLease(ctx context.Context) error {
	leases := m.a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	name := m.a.cfg.NodeName
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		dur := int32(leaseDuration)
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &dur, RenewTime: &now}}
		if node, err := m.a.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}
