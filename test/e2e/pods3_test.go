package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAgentRestartAdoptsPods: pods keep running through a kill -9 of the
// server (and its agent) and are adopted, not restarted; a killed
// containerd is restarted by the agent and the pods stay up.
func TestAgentRestartAdoptsPods(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("steady", `  containers:
  - name: c
    image: skiff.local/testserver:1
    args: ["serve", "--port", "8080"]
`), "apply", "-f", "-")
	c := s.client()
	before := waitPod(t, c, "steady", 60*time.Second, "ready", ready)
	id := before.Status.ContainerStatuses[0].ContainerID
	s.kill()
	s.start()
	waitNodeReady(t, s, nodeName)
	c = s.client()
	time.Sleep(3 * time.Second) // a few agent syncs
	after := waitPod(t, c, "steady", 30*time.Second, "ready after the agent restart", ready)
	if cs := after.Status.ContainerStatuses[0]; cs.ContainerID != id || cs.RestartCount != 0 {
		t.Fatalf("container replaced on agent restart: %s (restarts %d), was %s", cs.ContainerID, cs.RestartCount, id)
	}
	pid := containerdPID(t, s.dataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "a new containerd", func() bool {
		p := containerdPIDOrZero(s.dataDir)
		return p != 0 && p != pid
	})
	time.Sleep(3 * time.Second)
	final := waitPod(t, c, "steady", 30*time.Second, "ready after containerd restart", ready)
	if cs := final.Status.ContainerStatuses[0]; cs.ContainerID != id || cs.RestartCount != 0 {
		t.Fatalf("container replaced after containerd restart: %s (restarts %d)", cs.ContainerID, cs.RestartCount)
	}
	// And the agent still runs new pods.
	s.mustKubectlIn(podYAML("later", "  containers:\n  - name: c\n    image: skiff.local/busybox:1\n    command: [\"sleep\", \"3600\"]\n"), "apply", "-f", "-")
	waitPod(t, c, "later", 60*time.Second, "running", running)
}

func containerdPID(t *testing.T, dataDir string) int {
	t.Helper()
	pid := containerdPIDOrZero(dataDir)
	if pid == 0 {
		t.Fatal("no containerd running for the data dir")
	}
	return pid
}

// containerdPIDOrZero finds the containerd serving dataDir.
func containerdPIDOrZero(dataDir string) int {
	out, _ := exec.Command("pgrep", "-f", "containerd --config "+filepath.Join(dataDir, "agent", "containerd")).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			if stat, err := os.ReadFile("/proc/" + f + "/stat"); err == nil && !strings.Contains(string(stat), ") Z ") {
				return pid
			}
		}
	}
	return 0
}

// TestLogsOptions covers kubectl logs -f, --previous, --tail, --since,
// --timestamps and --all-containers.
func TestLogsOptions(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("chatty", `  containers:
  - name: a
    image: skiff.local/busybox:1
    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; i=6; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"]
  - name: b
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo from-b; exec sleep 3600"]
`), "apply", "-f", "-")
	waitPod(t, s.client(), "chatty", 60*time.Second, "running", running)
	eventually(t, 10*time.Second, "some lines", func() bool {
		out, _ := s.kubectl("logs", "chatty", "-c", "a")
		return strings.Contains(out, "line-20")
	})
	tail := s.mustKubectl("logs", "chatty", "-c", "a", "--tail=2")
	if n := strings.Count(tail, "\n"); n != 2 || strings.Contains(tail, "line-1\n") {
		t.Fatalf("--tail=2 gave %d lines:\n%s", n, tail)
	}
	ts := s.mustKubectl("logs", "chatty", "-c", "a", "--timestamps", "--tail=1")
	if _, err := time.Parse(time.RFC3339Nano, strings.Fields(ts)[0]); err != nil {
		t.Fatalf("--timestamps: %q", ts)
	}
	if since := s.mustKubectl("logs", "chatty", "-c", "a", "--since=1s"); strings.Contains(since, "line-1\n") {
		t.Fatalf("--since=1s returned the first lines:\n%s", since)
	}
	all := s.mustKubectl("logs", "chatty", "--all-containers")
	contains(t, all, "line-1", "from-b")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, "logs", "-f", "chatty", "-c", "a", "--tail=1")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 1024)
	for strings.Count(string(buf), "\n") < 5 {
		n, err := out.Read(tmp)
		if err != nil {
			t.Fatalf("logs -f ended after %q: %v", buf, err)
		}
		buf = append(buf, tmp[:n]...)
	}
	out2, err := s.kubectl("logs", "chatty", "-c", "a", "--previous")
	if err == nil || !strings.Contains(out2, `previous terminated container "a" in pod "chatty" not found`) {
		t.Fatalf("--previous without a previous container: %v %s", err, out2)
	}
}

// TestStaticPod runs a pod from <data-dir>/manifests and mirrors it in the
// API; deleting the mirror does not stop it.
func TestStaticPod(t *testing.T) {
	s := startNodeServer(t)
	dir := filepath.Join(s.dataDir, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  namespace: kube-system\nspec:\n  containers:\n  - name: c\n    image: skiff.local/busybox:1\n    command: [\"sh\", \"-c\", \"echo static-up; exec sleep 3600\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	name := "static-web-" + nodeName
	var mirror *corev1.Pod
	eventually(t, 60*time.Second, "a running mirror pod", func() bool {
		p, err := c.CoreV1().Pods("kube-system").Get(context.Background(), name, metav1.GetOptions{})
		mirror = p
		return err == nil && p.Status.Phase == corev1.PodRunning && p.Annotations["kubernetes.io/config.mirror"] != ""
	})
	if len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" {
		t.Fatalf("mirror pod owner: %+v", mirror.OwnerReferences)
	}
	eventually(t, 20*time.Second, "the static pod's log", func() bool {
		out, _ := s.kubectl("logs", "-n", "kube-system", name)
		return strings.Contains(out, "static-up")
	})
	s.mustKubectl("delete", "pod", "-n", "kube-system", name, "--wait=false")
	eventually(t, 60*time.Second, "the mirror pod back", func() bool {
		p, err := c.CoreV1().Pods("kube-system").Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && p.UID != mirror.UID && p.DeletionTimestamp == nil
	})
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the mirror pod gone with its manifest", func() bool {
		_, err := c.CoreV1().Pods("kube-system").Get(context.Background(), name, metav1.GetOptions{})
		return err != nil
	})
}
