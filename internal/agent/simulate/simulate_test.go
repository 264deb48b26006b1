package simulate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// newFakeClient is a fake clientset that gives created objects a UID, as
// the API server does.
func newFakeClient(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	var n atomic.Int64
	c.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if m, err := meta.Accessor(action.(k8stesting.CreateAction).GetObject()); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", n.Add(1))))
		}
		return false, nil, nil
	})
	return c
}

func testConfig(count int) Config {
	cfg := DefaultConfig()
	cfg.Count, cfg.NamePrefix = count, "sim"
	cfg.LeaseRenew = 50 * time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return cfg
}

// startSim runs a simulator until the test ends.
func startSim(t *testing.T, client *fake.Clientset, cfg Config) {
	t.Helper()
	s, err := New(cfg, Deps{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func getNode(c *fake.Clientset, name string) *corev1.Node {
	n, err := c.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return n
}

func getPod(c *fake.Clientset, name string) *corev1.Pod {
	p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue && c.Reason == "KubeletReady"
		}
	}
	return false
}

func TestRegisterNodes(t *testing.T) {
	client := newFakeClient()
	cfg := testConfig(3)
	cfg.Zones = 2
	cfg.Labels = map[string]string{"pool": "sim"}
	cfg.Taints = []corev1.Taint{{Key: "sim", Effect: corev1.TaintEffectNoSchedule}}
	cfg.Version = "skiff v9"
	startSim(t, client, cfg)
	for i, zone := range []string{"zone-0", "zone-1", "zone-0"} {
		name := fmt.Sprintf("sim-%d", i)
		eventually(t, name+" Ready", func() bool { n := getNode(client, name); return n != nil && nodeReady(n) })
		n := getNode(client, name)
		for k, v := range map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelInstanceTypeStable: InstanceType,
			corev1.LabelTopologyZone: zone, "pool": "sim",
		} {
			if n.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", name, k, n.Labels[k], v)
			}
		}
		if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "sim" {
			t.Errorf("%s: taints %v", name, n.Spec.Taints)
		}
		wantIP := fmt.Sprintf("10.244.0.%d", i+1)
		if len(n.Status.Addresses) == 0 || n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: wantIP}) {
			t.Errorf("%s: addresses %v, want InternalIP %s", name, n.Status.Addresses, wantIP)
		}
		info := n.Status.NodeInfo
		if info.KubeletVersion != "skiff v9" || info.ContainerRuntimeVersion != RuntimeVersion {
			t.Errorf("%s: node info %+v", name, info)
		}
		if cpu := n.Status.Allocatable[corev1.ResourceCPU]; cpu.String() != "32" {
			t.Errorf("%s: allocatable cpu %s", name, cpu.String())
		}
		if pods := n.Status.Capacity[corev1.ResourcePods]; pods.String() != "110" {
			t.Errorf("%s: capacity pods %s", name, pods.String())
		}
		if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0 {
			t.Errorf("%s: a kubelet port the API server would dial", name)
		}
		var lease *coordinationv1.Lease
		eventually(t, name+" lease", func() bool {
			var err error
			lease, err = client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(context.Background(), name, metav1.GetOptions{})
			return err == nil
		})
		if len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != n.UID || *lease.Spec.HolderIdentity != name {
			t.Errorf("%s: lease %+v, node UID %s", name, lease, n.UID)
		}
	}
}

func TestAdoptExistingNode(t *testing.T) {
	old := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "sim-0", UID: "old-uid", Labels: map[string]string{"keep": "me"}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"},
		}},
	}
	client := newFakeClient(old)
	startSim(t, client, testConfig(1))
	eventually(t, "sim-0 Ready", func() bool { n := getNode(client, "sim-0"); return nodeReady(n) })
	n := getNode(client, "sim-0")
	if n.UID != "old-uid" || n.Labels["keep"] != "me" || n.Labels[corev1.LabelHostname] != "sim-0" {
		t.Errorf("adopted node: uid %s labels %v", n.UID, n.Labels)
	}
}

// TestLeaseRenewedWithOneWrite checks that a renewal after the first is
// a single update of the Lease written last.
func TestLeaseRenewedWithOneWrite(t *testing.T) {
	client := newFakeClient()
	cfg := testConfig(1)
	s, err := New(cfg, Deps{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.renewLease(ctx, "sim-0"); err == nil {
		t.Fatal("renewed the lease of an unregistered node")
	}
	s.nodes[0].setUID("node-uid")
	for range 3 {
		if again, err := s.renewLease(ctx, "sim-0"); err != nil || again != cfg.LeaseRenew {
			t.Fatalf("renewLease: %v, again %v", err, again)
		}
	}
	var verbs []string
	for _, a := range client.Actions() {
		if a.GetResource().Resource == "leases" {
			verbs = append(verbs, a.GetVerb())
		}
	}
	if fmt.Sprint(verbs) != "[get create update update]" {
		t.Errorf("lease requests %v, want [get create update update]", verbs)
	}
}

func testPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName:       node,
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "nginx"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		},
	}
}

func TestPodsRunning(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sim-0", UID: "n0"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.7.0/24"}}
	client := newFakeClient(node, testPod("web", "sim-0"), testPod("fallback", "sim-1"), testPod("elsewhere", "real-node"))
	startSim(t, client, testConfig(2))
	eventually(t, "web Running", func() bool { return getPod(client, "web").Status.Phase == corev1.PodRunning })
	eventually(t, "fallback Running", func() bool { return getPod(client, "fallback").Status.Phase == corev1.PodRunning })
	p := getPod(client, "web")
	if p.Status.PodIP != "10.42.7.2" || p.Status.HostIP != "10.244.0.1" || len(p.Status.PodIPs) != 1 || len(p.Status.HostIPs) != 1 {
		t.Errorf("web: podIP %s hostIP %s", p.Status.PodIP, p.Status.HostIP)
	}
	if p.Status.StartTime == nil || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("web: startTime %v qos %s", p.Status.StartTime, p.Status.QOSClass)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if !hasPodCondition(p, ct) {
			t.Errorf("web: condition %s not True in %v", ct, p.Status.Conditions)
		}
	}
	if cs := p.Status.InitContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.Reason != "Completed" {
		t.Errorf("web: init container statuses %+v", cs)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.ContainerID != "simulated://uid-web-"+cs.Name {
			t.Errorf("web: container status %+v", cs)
		}
	}
	if ip := getPod(client, "fallback").Status.PodIP; ip != "10.64.1.2" {
		t.Errorf("fallback: pod IP %s, want 10.64.1.2 (no pod CIDR)", ip)
	}
	time.Sleep(100 * time.Millisecond)
	if p := getPod(client, "elsewhere"); p.Status.Phase != corev1.PodPending {
		t.Errorf("a pod of another node was touched: %s", p.Status.Phase)
	}
}

func hasPodCondition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestDeletedPodFinished(t *testing.T) {
	pod := testPod("gone", "sim-0")
	now := metav1.Now()
	grace := int64(30)
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = &now, &grace
	client := newFakeClient(pod)
	startSim(t, client, testConfig(1))
	eventually(t, "pod deleted", func() bool { return getPod(client, "gone") == nil })
	for _, a := range client.Actions() {
		d, ok := a.(k8stesting.DeleteActionImpl)
		if !ok || d.GetResource().Resource != "pods" {
			continue
		}
		o := d.DeleteOptions
		if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 || o.Preconditions == nil || *o.Preconditions.UID != "uid-gone" {
			t.Errorf("delete options %+v", o)
		}
		return
	}
	t.Error("no pod delete request")
}

func TestExitAfter(t *testing.T) {
	pod := testPod("job", "sim-0")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Annotations = map[string]string{ExitAfterAnnotation: "200ms"}
	client := newFakeClient(pod)
	startSim(t, client, testConfig(1))
	eventually(t, "job Succeeded", func() bool { return getPod(client, "job").Status.Phase == corev1.PodSucceeded })
	for _, cs := range getPod(client, "job").Status.ContainerStatuses {
		if term := cs.State.Terminated; term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
			t.Errorf("container %s: %+v", cs.Name, cs.State)
		}
	}
}

func TestCleanupDeletesNodes(t *testing.T) {
	client := newFakeClient()
	cfg := testConfig(2)
	cfg.Cleanup = true
	s, err := New(cfg, Deps{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	eventually(t, "nodes registered", func() bool { return getNode(client, "sim-1") != nil && getNode(client, "sim-0") != nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if getNode(client, "sim-0") != nil || getNode(client, "sim-1") != nil {
		t.Error("nodes left after cleanup")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
	}{
		{"no nodes", func(c *Config) { c.Count = 0 }},
		{"too many", func(c *Config) { c.Count = MaxNodes + 1 }},
		{"bad prefix", func(c *Config) { c.NamePrefix = "Sim_" }},
		{"no pods", func(c *Config) { c.Pods = 0 }},
		{"zero cpu", func(c *Config) { c.CPU.Set(0) }},
		{"bad taint", func(c *Config) { c.Taints = []corev1.Taint{{Key: "k", Effect: "Sometimes"}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(3)
			tc.change(&cfg)
			if err := cfg.Validate(); err == nil {
				t.Error("no error")
			}
		})
	}
	if err := testConfig(3).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestNodeAddresses(t *testing.T) {
	for _, tc := range []struct {
		i            int
		ip, fallback string
	}{
		{0, "10.244.0.1", "10.64.0.0/24"},
		{253, "10.244.0.254", "10.64.253.0/24"},
		{254, "10.244.1.1", "10.64.254.0/24"},
		{MaxNodes - 1, "10.244.64.128", "10.127.255.0/24"},
	} {
		n := newSimNode(tc.i, "x")
		if n.ip != tc.ip || n.fallback != netip.MustParsePrefix(tc.fallback) {
			t.Errorf("node %d: ip %s fallback %s, want %s %s", tc.i, n.ip, n.fallback, tc.ip, tc.fallback)
		}
	}
}
