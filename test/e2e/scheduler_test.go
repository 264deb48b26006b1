package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// simCluster is a server with four simulated nodes, sim-0..sim-3, 2 CPUs
// each, sim-0 and sim-2 in zone-0, sim-1 and sim-3 in zone-1.
type simCluster struct {
	*server
	c kubernetes.Interface
}

func startSimCluster(t *testing.T) *simCluster {
	t.Helper()
	s := startServer(t)
	startSimulator(t, s, "--simulate", "4", "--simulate-prefix", "sim", "--simulate-zones", "2", "--simulate-cpu", "2")
	sc := &simCluster{server: s, c: s.client()}
	eventually(t, 60*time.Second, "4 nodes Ready and untainted", func() bool {
		list, err := sc.c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		n := 0
		for _, node := range list.Items {
			if len(node.Spec.Taints) == 0 && nodeReady(&node) {
				n++
			}
		}
		return n == 4
	})
	return sc
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// namespace creates a namespace for one scenario; it is deleted (with
// its pods) when the scenario ends, so the next one finds the nodes empty.
func (sc *simCluster) namespace(t *testing.T, name string) {
	t.Helper()
	sc.mustKubectl("create", "namespace", name)
	t.Cleanup(func() {
		_, _ = sc.kubectl("delete", "pods", "--all", "-n", name, "--grace-period=0", "--wait=true", "--timeout=60s")
		_, _ = sc.kubectl("delete", "namespace", name, "--wait=false")
	})
}

// pod renders a pod requesting cpu with extra spec lines (indented by 2).
func pod(name, cpu string, extra ...string) string {
	y := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  labels: {app: web}\nspec:\n" +
		"  containers:\n  - name: c\n    image: skiff.local/busybox:1\n    resources: {requests: {cpu: \"" + cpu + "\"}}\n"
	for _, e := range extra {
		y += "  " + e + "\n"
	}
	return y + "---\n"
}

func (sc *simCluster) waitBound(t *testing.T, ns, name string) string {
	t.Helper()
	var node string
	eventually(t, 30*time.Second, ns+"/"+name+" bound", func() bool {
		p, err := sc.c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		node = p.Spec.NodeName
		return node != ""
	})
	return node
}

// waitUnschedulable waits for the PodScheduled=False condition and
// returns its message; the pod must not be bound.
func (sc *simCluster) waitUnschedulable(t *testing.T, ns, name string) string {
	t.Helper()
	var msg string
	eventually(t, 30*time.Second, ns+"/"+name+" Unschedulable", func() bool {
		p, err := sc.c.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("%s/%s was bound to %s", ns, name, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == "Unschedulable" {
				msg = c.Message
				return true
			}
		}
		return false
	})
	return msg
}

func wantMessage(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("scheduling message:\n got %q\nwant %q", got, want)
	}
}

// TestScheduler runs the scheduling scenarios against one server with four
// simulated nodes; each scenario has its own namespace.
func TestScheduler(t *testing.T) {
	sc := startSimCluster(t)

	t.Run("requests fill nodes exactly", func(t *testing.T) {
		sc.namespace(t, "fill")
		var y string
		for i := 0; i < 8; i++ {
			y += pod(fmt.Sprintf("p%d", i), "1")
		}
		sc.mustKubectlIn(y, "apply", "-n", "fill", "-f", "-")
		perNode := map[string]int{}
		for i := 0; i < 8; i++ {
			perNode[sc.waitBound(t, "fill", fmt.Sprintf("p%d", i))]++
		}
		for node, n := range perNode {
			if n != 2 {
				t.Fatalf("placement %v: want 2 pods (2 CPUs) on each node; %s has %d", perNode, node, n)
			}
		}
		sc.mustKubectlIn(pod("extra", "100m"), "apply", "-n", "fill", "-f", "-")
		wantMessage(t, sc.waitUnschedulable(t, "fill", "extra"),
			"0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.")
		var events string
		eventually(t, 20*time.Second, "FailedScheduling event", func() bool {
			events, _ = sc.kubectl("describe", "pod", "extra", "-n", "fill")
			return strings.Contains(events, "FailedScheduling")
		})
		contains(t, events, "Warning  FailedScheduling", "default-scheduler", "0/4 nodes are available: 4 Insufficient cpu.")
		// Room made: the pending pod is retried on the delete event.
		sc.mustKubectl("delete", "pod", "p0", "-n", "fill", "--grace-period=0")
		sc.waitBound(t, "fill", "extra")
	})

	t.Run("nodeSelector and node affinity", func(t *testing.T) {
		sc.namespace(t, "affinity")
		sc.mustKubectl("label", "node", "sim-3", "disk=ssd")
		t.Cleanup(func() { _, _ = sc.kubectl("label", "node", "sim-3", "disk-") })
		sc.mustKubectlIn(pod("ssd", "100m", "nodeSelector: {disk: ssd}")+
			pod("zone1", "100m", `affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: topology.kubernetes.io/zone, operator: NotIn, values: [zone-0]}]}]}}}`)+
			pod("nowhere", "100m", "nodeSelector: {disk: nvme}"), "apply", "-n", "affinity", "-f", "-")
		if n := sc.waitBound(t, "affinity", "ssd"); n != "sim-3" {
			t.Fatalf("nodeSelector disk=ssd: bound to %s, want sim-3", n)
		}
		if n := sc.waitBound(t, "affinity", "zone1"); n != "sim-1" && n != "sim-3" {
			t.Fatalf("affinity NotIn zone-0: bound to %s, want sim-1 or sim-3", n)
		}
		wantMessage(t, sc.waitUnschedulable(t, "affinity", "nowhere"),
			"0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
		// Labelling a node lets it schedule.
		sc.mustKubectl("label", "node", "sim-0", "disk=nvme")
		t.Cleanup(func() { _, _ = sc.kubectl("label", "node", "sim-0", "disk-") })
		if n := sc.waitBound(t, "affinity", "nowhere"); n != "sim-0" {
			t.Fatalf("after labelling sim-0: bound to %s", n)
		}
	})

	t.Run("anti-affinity one pod per node", func(t *testing.T) {
		sc.namespace(t, "anti")
		anti := `affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}]}}`
		var y string
		for i := 0; i < 5; i++ {
			y += pod(fmt.Sprintf("w%d", i), "100m", anti)
		}
		sc.mustKubectlIn(y, "apply", "-n", "anti", "-f", "-")
		seen := map[string]bool{}
		pending := ""
		eventually(t, 30*time.Second, "4 bound, 1 pending", func() bool {
			list, err := sc.c.CoreV1().Pods("anti").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				return false
			}
			seen, pending = map[string]bool{}, ""
			for _, p := range list.Items {
				if p.Spec.NodeName != "" {
					seen[p.Spec.NodeName] = true
				} else {
					pending = p.Name
				}
			}
			return len(seen) == 4 && pending != ""
		})
		wantMessage(t, sc.waitUnschedulable(t, "anti", pending),
			"0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.")
	})

	t.Run("taints and tolerations", func(t *testing.T) {
		sc.namespace(t, "taints")
		for _, n := range []string{"sim-0", "sim-1", "sim-2"} {
			sc.mustKubectl("taint", "node", n, "dedicated=gpu:NoSchedule")
			n := n
			t.Cleanup(func() { _, _ = sc.kubectl("taint", "node", n, "dedicated-") })
		}
		sc.mustKubectl("label", "node", "sim-3", "team=a")
		t.Cleanup(func() { _, _ = sc.kubectl("label", "node", "sim-3", "team-") })
		sc.mustKubectlIn(pod("plain", "100m")+
			pod("blocked", "100m", `affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: team, operator: DoesNotExist}]}]}}}`)+
			pod("tolerant", "100m", "tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]", "nodeSelector: {kubernetes.io/hostname: sim-0}"),
			"apply", "-n", "taints", "-f", "-")
		if n := sc.waitBound(t, "taints", "plain"); n != "sim-3" {
			t.Fatalf("untolerating pod bound to tainted %s", n)
		}
		if n := sc.waitBound(t, "taints", "tolerant"); n != "sim-0" {
			t.Fatalf("tolerating pod bound to %s, want sim-0", n)
		}
		wantMessage(t, sc.waitUnschedulable(t, "taints", "blocked"),
			"0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
	})

	t.Run("spread over zones", func(t *testing.T) {
		sc.namespace(t, "spread")
		spread := `topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}]`
		var y string
		for i := 0; i < 6; i++ {
			y += pod(fmt.Sprintf("s%d", i), "100m", spread)
		}
		sc.mustKubectlIn(y, "apply", "-n", "spread", "-f", "-")
		zones := map[string]int{}
		for i := 0; i < 6; i++ {
			n := sc.waitBound(t, "spread", fmt.Sprintf("s%d", i))
			node, err := sc.c.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			zones[node.Labels["topology.kubernetes.io/zone"]]++
		}
		if zones["zone-0"] != 3 || zones["zone-1"] != 3 {
			t.Fatalf("pods per zone %v, want 3 and 3", zones)
		}
	})

	t.Run("cordon", func(t *testing.T) {
		sc.namespace(t, "cordon")
		for _, n := range []string{"sim-0", "sim-1", "sim-2", "sim-3"} {
			sc.mustKubectl("cordon", n)
			n := n
			t.Cleanup(func() { _, _ = sc.kubectl("uncordon", n) })
		}
		assertLines(t, sc.mustKubectl("get", "nodes"), `^sim-2\s+Ready,SchedulingDisabled\s`)
		sc.mustKubectlIn(pod("waiting", "100m"), "apply", "-n", "cordon", "-f", "-")
		wantMessage(t, sc.waitUnschedulable(t, "cordon", "waiting"),
			"0/4 nodes are available: 4 node(s) were unschedulable. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.")
		sc.mustKubectl("uncordon", "sim-2")
		if n := sc.waitBound(t, "cordon", "waiting"); n != "sim-2" {
			t.Fatalf("bound to %s, want the uncordoned sim-2", n)
		}
	})

	t.Run("preemption", func(t *testing.T) {
		sc.namespace(t, "preempt")
		sc.mustKubectlIn(`apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: e2e-low}
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: e2e-high}
value: 1000
`, "apply", "-f", "-")
		t.Cleanup(func() { _, _ = sc.kubectl("delete", "priorityclass", "e2e-low", "e2e-high") })
		// Fill every node with low-priority pods, one of them cheaper to
		// evict (it alone holds sim-1).
		y := pod("low-a0", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-0}") +
			pod("low-a1", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-0}") +
			pod("low-b", "2", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-1}") +
			pod("low-c0", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-2}") +
			pod("low-c1", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-2}") +
			pod("low-d0", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-3}") +
			pod("low-d1", "1", "priorityClassName: e2e-low", "nodeSelector: {kubernetes.io/hostname: sim-3}")
		sc.mustKubectlIn(y, "apply", "-n", "preempt", "-f", "-")
		for _, n := range []string{"low-a0", "low-a1", "low-b", "low-c0", "low-c1", "low-d0", "low-d1"} {
			sc.waitBound(t, "preempt", n)
		}
		sc.mustKubectlIn(pod("high", "2", "priorityClassName: e2e-high"), "apply", "-n", "preempt", "-f", "-")
		if n := sc.waitBound(t, "preempt", "high"); n != "sim-1" {
			t.Fatalf("high-priority pod bound to %s, want sim-1 (one victim instead of two)", n)
		}
		if _, err := sc.c.CoreV1().Pods("preempt").Get(context.Background(), "low-b", metav1.GetOptions{}); err == nil {
			t.Fatal("the victim low-b still exists")
		}
		list, _ := sc.c.CoreV1().Pods("preempt").List(context.Background(), metav1.ListOptions{})
		if len(list.Items) != 7 {
			t.Fatalf("%d pods left, want 7: only low-b may be evicted", len(list.Items))
		}
		var out string
		eventually(t, 20*time.Second, "Preempted event", func() bool {
			out, _ = sc.kubectl("get", "events", "-n", "preempt", "--field-selector", "reason=Preempted", "--no-headers")
			return strings.Contains(out, "Preempted by pod")
		})
		contains(t, out, "pod/low-b", "on node sim-1")
	})
}

// TestSchedulerLeaderElection runs two `skiff scheduler` processes against
// a server without its own: one holds the kube-system/kube-scheduler
// lease and binds pods; when it dies the other takes over.
func TestSchedulerLeaderElection(t *testing.T) {
	s := startServer(t, "--disable-scheduler")
	startSimulator(t, s, "--simulate", "1", "--simulate-prefix", "le")
	var scheds []*agentProc
	for _, id := range []string{"sched-a", "sched-b"} {
		a := &agentProc{t: t, args: []string{"scheduler", "--kubeconfig", s.kubeconfig, "--leader-elect-identity", id}}
		a.start()
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", id, a.log.String())
			}
			a.kill()
		})
		scheds = append(scheds, a)
	}
	holder := func() string {
		out, _ := s.kubectl("get", "lease", "kube-scheduler", "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}")
		return out
	}
	var first string
	eventually(t, 30*time.Second, "a scheduler holds the lease", func() bool {
		first = holder()
		return first == "sched-a" || first == "sched-b"
	})
	s.mustKubectl("run", "one", "--image=skiff.local/busybox:1")
	eventually(t, 30*time.Second, "pod one bound", func() bool {
		out, _ := s.kubectl("get", "pod", "one", "-o", "jsonpath={.spec.nodeName}")
		return out == "le-0"
	})
	leader := scheds[0]
	if first == "sched-b" {
		leader = scheds[1]
	}
	leader.kill() // no release: the other waits for the lease to expire
	eventually(t, 45*time.Second, "the other scheduler takes the lease", func() bool {
		h := holder()
		return h != "" && h != first
	})
	s.mustKubectl("run", "two", "--image=skiff.local/busybox:1")
	eventually(t, 30*time.Second, "pod two bound by the new leader", func() bool {
		out, _ := s.kubectl("get", "pod", "two", "-o", "jsonpath={.spec.nodeName}")
		return out == "le-0"
	})
}
