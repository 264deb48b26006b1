package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	goruntime "runtime"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Fake addresses: node i is 10.244.<i/254>.<i%254+1>, and, until the
// server's node IPAM gives it a pod CIDR, its pods take addresses from
// 10.<64+i/256>.<i%256>.0/24. Nothing listens there: the nodes report no
// agent port, so the API server never dials them.
const (
	// InstanceType is the node.kubernetes.io/instance-type of every
	// simulated node.
	InstanceType = "simulated"
	// RuntimeVersion is the nodes' containerRuntimeVersion.
	RuntimeVersion = "simulated://0"
)

// simNode is one simulated node.
type simNode struct {
	index    int
	name     string
	ip       string
	fallback netip.Prefix
	ips      *ipPool

	mu  sync.Mutex
	uid types.UID
	// nextReport is touched only by the node queue's worker for this
	// node, lease only by the lease queue's; a key is never synced twice
	// at once.
	nextReport time.Time
	lease      *coordinationv1.Lease
}

func newSimNode(i int, name string) *simNode {
	return &simNode{
		index: i, name: name, ips: newIPPool(),
		ip:       netip.AddrFrom4([4]byte{10, 244, byte(i / 254), byte(i%254 + 1)}).String(),
		fallback: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i/256), byte(i % 256), 0}), 24),
	}
}

func (n *simNode) setUID(uid types.UID) (first bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	first = n.uid == ""
	n.uid = uid
	return first
}

func (n *simNode) getUID() types.UID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.uid
}

func newNodeInformer(client kubernetes.Interface) cache.SharedIndexInformer {
	inf := coreinformers.NewNodeInformer(client, 0, cache.Indexers{})
	_ = inf.SetTransform(dropManagedFields)
	return inf
}

// dropManagedFields keeps the informer caches small; an update without
// managed fields leaves the server's as they are.
func dropManagedFields(obj interface{}) (interface{}, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (s *Simulator) nodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              s.cfg.CPU.DeepCopy(),
		corev1.ResourceMemory:           s.cfg.Memory.DeepCopy(),
		corev1.ResourceEphemeralStorage: s.cfg.EphemeralStorage.DeepCopy(),
		corev1.ResourcePods:             *resource.NewQuantity(int64(s.cfg.Pods), resource.DecimalSI),
		"hugepages-2Mi":                 *resource.NewQuantity(0, resource.BinarySI),
	}
}

// labels are the real agent's node labels, an instance type, the zone and
// the configured extras.
func (s *Simulator) labels(n *simNode) map[string]string {
	l := map[string]string{
		corev1.LabelHostname: n.name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: goruntime.GOARCH,
		"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": goruntime.GOARCH,
		corev1.LabelInstanceTypeStable: InstanceType,
	}
	if s.cfg.Zones > 0 {
		l[corev1.LabelTopologyZone] = fmt.Sprintf("zone-%d", n.index%s.cfg.Zones)
	}
	for k, v := range s.cfg.Labels {
		l[k] = v
	}
	return l
}

// syncNode registers the node, or adopts the one there, and writes its
// status when it differs from what the node reports, or is older than
// StatusReport.
func (s *Simulator) syncNode(ctx context.Context, name string) (time.Duration, error) {
	n := s.byName[name]
	obj, exists, err := s.nodeInf.GetIndexer().GetByKey(name)
	if err != nil {
		return 0, fmt.Errorf("simulate: node cache: %w", err)
	}
	var cur *corev1.Node
	if exists {
		cur, err = s.adopt(ctx, n, obj.(*corev1.Node))
	} else {
		cur, err = s.register(ctx, n)
	}
	if err != nil || cur == nil {
		return s.cfg.StatusReport, err
	}
	if n.setUID(cur.UID) && int(s.registered.Add(1)) == len(s.nodes) {
		s.log.Info("simulated nodes registered", "count", len(s.nodes))
	}
	now := s.now()
	want := s.nodeStatus(n, cur, now)
	if sameNodeStatus(cur.Status, want) && now.Before(n.nextReport) {
		return n.nextReport.Sub(now), nil
	}
	next := cur.DeepCopy()
	next.Status = want
	if _, err := s.client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return 0, fmt.Errorf("simulate: node %s status: %w", name, err)
	}
	s.reported(n, now)
	return n.nextReport.Sub(now), nil
}

// reported sets when to write the node's status again though unchanged:
// after StatusReport, but the first time after a share of it that grows
// with the node's index, so the nodes' reports are spread, not a burst.
func (s *Simulator) reported(n *simNode, now time.Time) {
	wait := s.cfg.StatusReport
	if n.nextReport.IsZero() {
		wait -= s.cfg.StatusReport * time.Duration(n.index) / time.Duration(len(s.nodes))
	}
	n.nextReport = now.Add(wait)
}

// register creates the node with its status. When it exists already (the
// cache had not seen it), it returns nil: the informer's event brings the
// node back here to be adopted. A node deleted while the simulator runs
// is registered again, as the real agent does.
func (s *Simulator) register(ctx context.Context, n *simNode) (*corev1.Node, error) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: s.labels(n)},
		Spec:       corev1.NodeSpec{Taints: append([]corev1.Taint(nil), s.cfg.Taints...)},
	}
	now := s.now()
	node.Status = s.nodeStatus(n, nil, now)
	created, err := s.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simulate: register node %s: %w", n.name, err)
	}
	s.reported(n, now)
	return created, nil
}

// adopt adds the node's labels and taints to an existing Node, as the
// real agent adds its labels.
func (s *Simulator) adopt(ctx context.Context, n *simNode, cur *corev1.Node) (*corev1.Node, error) {
	next := cur.DeepCopy()
	changed := false
	for k, v := range s.labels(n) {
		if next.Labels[k] != v {
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[k], changed = v, true
		}
	}
	for _, t := range s.cfg.Taints {
		if !hasTaint(next.Spec.Taints, t) {
			next.Spec.Taints, changed = append(next.Spec.Taints, t), true
		}
	}
	if !changed {
		return cur, nil
	}
	updated, err := s.client.CoreV1().Nodes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("simulate: adopt node %s: %w", n.name, err)
	}
	return updated, nil
}

func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for _, o := range taints {
		if o.Key == t.Key && o.Effect == t.Effect {
			return true
		}
	}
	return false
}

// nodeStatus is a healthy node's status; old carries the previous
// conditions, whose transition times stay when their status does.
func (s *Simulator) nodeStatus(n *simNode, old *corev1.Node, now time.Time) corev1.NodeStatus {
	st := corev1.NodeStatus{
		Capacity: s.capacity.DeepCopy(), Allocatable: s.capacity.DeepCopy(),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.ip},
			{Type: corev1.NodeHostName, Address: n.name},
		},
		NodeInfo: s.nodeInfo(n),
	}
	if old != nil {
		st.Images = old.Status.Images
		st.VolumesInUse, st.VolumesAttached = old.Status.VolumesInUse, old.Status.VolumesAttached
	}
	stamp := metav1.NewTime(now.Truncate(time.Second))
	for _, c := range []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	} {
		c.LastHeartbeatTime, c.LastTransitionTime = stamp, stamp
		if old != nil {
			for _, o := range old.Status.Conditions {
				if o.Type == c.Type && o.Status == c.Status {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

// nodeInfo is stable for a node name, so a restarted simulator finds its
// nodes' status unchanged.
func (s *Simulator) nodeInfo(n *simNode) corev1.NodeSystemInfo {
	sum := sha256.Sum256([]byte("skiff-simulated-node/" + n.name))
	id := hex.EncodeToString(sum[:16])
	uuid := id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	return corev1.NodeSystemInfo{
		MachineID: id, SystemUUID: uuid, BootID: uuid,
		KernelVersion: "simulated", OSImage: "skiff simulated node", OperatingSystem: "linux",
		Architecture: goruntime.GOARCH, ContainerRuntimeVersion: RuntimeVersion, KubeletVersion: s.cfg.Version,
	}
}

// sameNodeStatus compares two statuses but for heartbeat times.
func sameNodeStatus(a, b corev1.NodeStatus) bool {
	a, b = *a.DeepCopy(), *b.DeepCopy()
	for _, s := range []*corev1.NodeStatus{&a, &b} {
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}

func (s *Simulator) deleteNode(ctx context.Context, name string) error {
	err := s.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("simulate: delete node %s: %w", name, err)
	}
	return nil
}
