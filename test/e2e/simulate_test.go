package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startSimulator runs `skiff agent --simulate ...` joined to s with the
// server's join token; it needs no root and no containerd.
func startSimulator(t *testing.T, s *server, simArgs ...string) *agentProc {
	t.Helper()
	dataDir := t.TempDir()
	a := &agentProc{t: t, dataDir: dataDir, args: append([]string{
		"agent", "--server", s.mustRestHost(), "--token-file", filepath.Join(s.dataDir, "token"), "--data-dir", dataDir,
	}, simArgs...)}
	a.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("simulator log:\n%s", a.log.String())
		}
		a.kill()
	})
	return a
}

// terminate sends SIGTERM and waits for the process to exit.
func (a *agentProc) terminate(wait time.Duration) {
	a.t.Helper()
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(wait):
		a.t.Fatalf("agent still running %v after SIGTERM", wait)
	}
}

// TestSimulatedNodes joins three hollow nodes and checks what kubectl
// shows of them: Ready nodes with zone labels, a pod bound to one Running
// with an IP, its deletion completing, and the nodes gone after SIGTERM
// with --simulate-cleanup.
func TestSimulatedNodes(t *testing.T) {
	s := startServer(t)
	a := startSimulator(t, s, "--simulate", "3", "--simulate-prefix", "e2e-sim", "--simulate-zones", "2",
		"--simulate-cpu", "8", "--simulate-cleanup")
	eventually(t, 60*time.Second, "3 simulated nodes Ready", func() bool {
		out, err := s.kubectl("get", "nodes", "--no-headers")
		return err == nil && strings.Count(out, " Ready ") == 3
	})
	assertLines(t, s.mustKubectl("get", "nodes", "-L", "topology.kubernetes.io/zone"),
		`^e2e-sim-0\s+Ready\s+<none>\s+\S+\s+skiff \S+\s+zone-0$`,
		`^e2e-sim-1\s+Ready\s+<none>\s+\S+\s+skiff \S+\s+zone-1$`,
		`^e2e-sim-2\s+Ready\s+<none>\s+\S+\s+skiff \S+\s+zone-0$`)
	contains(t, s.mustKubectl("get", "node", "e2e-sim-1", "-o", "jsonpath={.status.capacity.cpu} {.status.nodeInfo.containerRuntimeVersion}"),
		"8 simulated://0")

	s.mustKubectlIn(`apiVersion: v1
kind: Pod
metadata:
  name: hollow
spec:
  nodeName: e2e-sim-1
  containers:
  - name: c
    image: skiff.local/busybox:1
`, "apply", "-f", "-")
	c := s.client()
	waitPod(t, c, "hollow", 30*time.Second, "Running and Ready with an IP", func(p *corev1.Pod) bool {
		return running(p) && ready(p) && p.Status.PodIP != ""
	})
	assertLines(t, s.mustKubectl("get", "pod", "hollow", "-o", "wide"),
		`^hollow\s+1/1\s+Running\s+0\s+\S+\s+10\.\d+\.\d+\.\d+\s+e2e-sim-1\s`)
	// The nodes' lease renewals are spread over 10 s.
	eventually(t, 20*time.Second, "e2e-sim-1's lease", func() bool {
		lease, err := c.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "e2e-sim-1", metav1.GetOptions{})
		return err == nil && lease.Spec.RenewTime != nil
	})

	contains(t, s.mustKubectl("delete", "pod", "hollow", "--timeout=30s"), `pod "hollow" deleted`)
	if _, err := c.CoreV1().Pods("default").Get(context.Background(), "hollow", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod after delete: %v", err)
	}

	a.terminate(40 * time.Second)
	out, _ := s.kubectl("get", "nodes", "--no-headers")
	if strings.Contains(out, "e2e-sim") {
		t.Fatalf("simulated nodes left after SIGTERM with --simulate-cleanup:\n%s", out)
	}
}
