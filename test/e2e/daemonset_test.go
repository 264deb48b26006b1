package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDaemonSet: one pod per node; a node tainted NoSchedule keeps its
// pod but gets no new one; a new node gets one.
func TestDaemonSet(t *testing.T) {
	s := startServer(t)
	startSimulator(t, s, "--simulate", "3", "--simulate-prefix", "ds")
	c := s.client()
	eventually(t, 30*time.Second, "3 nodes Ready", func() bool {
		out, _ := s.kubectl("get", "nodes", "--no-headers")
		return strings.Count(out, " Ready ") == 3
	})
	s.mustKubectlIn(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: c, image: skiff.local/busybox:1}
`, "apply", "-f", "-")
	perNode := func() map[string]int {
		list, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			return nil
		}
		m := map[string]int{}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				m[p.Spec.NodeName]++
			}
		}
		return m
	}
	eventually(t, 30*time.Second, "one running pod on each of 3 nodes", func() bool {
		m := perNode()
		return len(m) == 3 && m["ds-0"] == 1 && m["ds-1"] == 1 && m["ds-2"] == 1
	})
	contains(t, s.mustKubectl("rollout", "status", "daemonset/agent", "--timeout=30s"), "successfully rolled out")
	assertLines(t, s.mustKubectl("get", "ds", "agent"), `^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE$`, `^agent\s+3\s+3\s+3\s+3\s+3\s+<none>\s+\S+$`)

	s.mustKubectl("taint", "node", "ds-1", "dedicated=db:NoSchedule")
	victim := strings.TrimSpace(s.mustKubectl("get", "pods", "-l", "app=agent", "--field-selector", "spec.nodeName=ds-1", "-o", "jsonpath={.items[0].metadata.name}"))
	time.Sleep(2 * time.Second)
	if m := perNode(); m["ds-1"] != 1 {
		t.Fatalf("the tainted node's pod went away: %v", m)
	}
	s.mustKubectl("delete", "pod", victim)
	startSimulator(t, s, "--simulate", "1", "--simulate-prefix", "late")
	eventually(t, 30*time.Second, "the new node gets a pod", func() bool { return perNode()["late-0"] == 1 })
	if m := perNode(); m["ds-1"] != 0 {
		t.Fatalf("a pod came back on the NoSchedule-tainted node: %v", m)
	}

	// Rolling update, history and undo through ControllerRevisions.
	s.mustKubectl("set", "image", "daemonset/agent", "c=skiff.local/busybox:2")
	contains(t, s.mustKubectl("rollout", "status", "daemonset/agent", "--timeout=60s"), "successfully rolled out")
	assertLines(t, s.mustKubectl("rollout", "history", "daemonset/agent"), `^REVISION\s+CHANGE-CAUSE$`, `^1\s+<none>$`, `^2\s+<none>$`)
	s.mustKubectl("rollout", "undo", "daemonset/agent")
	contains(t, s.mustKubectl("rollout", "status", "daemonset/agent", "--timeout=60s"), "successfully rolled out")
	if img := s.mustKubectl("get", "ds", "agent", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "skiff.local/busybox:1" {
		t.Fatalf("after undo the image is %q", img)
	}
}

// TestDaemonSetRealNodes runs a DaemonSet of real containers on three
// agents in network namespaces: one running pod per node; a node tainted
// NoSchedule gets no replacement for its deleted pod; a fourth node gets
// one.
func TestDaemonSetRealNodes(t *testing.T) {
	cl := startCluster(t, 3, false)
	c := cl.Client()
	ctx := context.Background()
	if out, err := cl.Kubectl("apply", "-f", "testdata/daemonset-sleep.yaml"); err != nil {
		t.Fatalf("apply: %v %s", err, out)
	}
	running := func() map[string]string {
		list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=sleeper"})
		if err != nil {
			return nil
		}
		m := map[string]string{}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				m[p.Spec.NodeName] = p.Name
			}
		}
		return m
	}
	eventually(t, 90*time.Second, "a running pod on each of 3 nodes", func() bool { return len(running()) == 3 })

	tainted := cl.Nodes[0].Name
	if out, err := cl.Kubectl("taint", "node", tainted, "skiff.test/closed=yes:NoSchedule"); err != nil {
		t.Fatalf("taint: %v %s", err, out)
	}
	if err := c.CoreV1().Pods("default").Delete(ctx, running()[tainted], metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	n := cl.AddNode()
	eventually(t, 90*time.Second, "a pod on the new node "+n.Name, func() bool { return running()[n.Name] != "" })
	// By now the controller has seen the taint long since: nothing came back.
	if m := running(); m[tainted] != "" || len(m) != 3 {
		t.Errorf("pods by node after the taint and the new node: %v", m)
	}
}
