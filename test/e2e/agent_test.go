package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
)

// agentProc is a standalone `skiff agent`.
type agentProc struct {
	t       *testing.T
	args    []string
	dataDir string
	cmd     *exec.Cmd
	log     *bytes.Buffer
	done    chan struct{}
}

// startAgent joins a node named name to s with the server's join token.
func startAgent(t *testing.T, s *server, name string) *agentProc {
	t.Helper()
	dataDir := runtimetest.ShortTempDir(t)
	img := filepath.Join(dataDir, "images")
	if err := os.MkdirAll(img, 0o755); err != nil {
		t.Fatal(err)
	}
	src := testImages(t)
	for _, f := range []string{"busybox.tar", "testserver.tar"} {
		if err := os.Link(filepath.Join(src, f), filepath.Join(img, f)); err != nil {
			t.Fatal(err)
		}
	}
	cgroup := "/skiff-e2e-" + randHex(4)
	a := &agentProc{t: t, dataDir: dataDir, args: []string{
		"agent", "--server", s.mustRestHost(), "--token-file", filepath.Join(s.dataDir, "token"),
		"--data-dir", dataDir, "--node-name", name, "--agent-port", "0", "--cgroup-parent", cgroup,
	}}
	t.Cleanup(func() { purgeNode(t, dataDir, cgroup) })
	a.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log.String())
		}
		a.kill()
		purgeNode(t, dataDir, cgroup)
	})
	return a
}

func (a *agentProc) start() {
	a.cmd = exec.Command(skiffBin, a.args...)
	a.log = &bytes.Buffer{}
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(a.cmd, a.done)
}

// kill ends the agent with SIGKILL; its containerd lives on.
func (a *agentProc) kill() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.done:
		return
	default:
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.done
}

// TestStandaloneAgent joins a node with `skiff agent` and the join token,
// runs a pod on it, and checks that a pod deleted while the agent was down
// is cleaned up when it comes back.
func TestStandaloneAgent(t *testing.T) {
	s := startServer(t)
	a := startAgent(t, s, "e2e-agent")
	waitNodeReady(t, s, "e2e-agent")
	assertLines(t, s.mustKubectl("get", "nodes"), `^e2e-agent\s+Ready\s+<none>\s+\S+\s+skiff v`)
	s.mustKubectlIn(`apiVersion: v1
kind: Pod
metadata:
  name: remote
spec:
  nodeName: e2e-agent
  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo on-the-agent; exec sleep 3600"]
`, "apply", "-f", "-")
	p := waitPod(t, s.client(), "remote", 60*time.Second, "running", running)
	eventually(t, 20*time.Second, "logs through the API server", func() bool {
		out, _ := s.kubectl("logs", "remote")
		return strings.Contains(out, "on-the-agent")
	})
	lease, err := s.client().CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "e2e-agent", metav1.GetOptions{})
	if err != nil || lease.Spec.RenewTime == nil {
		t.Fatalf("node lease: %v %+v", err, lease)
	}
	a.kill()
	s.mustKubectl("delete", "pod", "remote", "--grace-period=0", "--force")
	a.start()
	sock := filepath.Join(a.dataDir, "agent", "containerd", "containerd.sock")
	eventually(t, 60*time.Second, "the orphaned sandbox removed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt, err := runtime.Dial(ctx, "unix://"+sock)
		if err != nil {
			return false
		}
		defer rt.Close()
		resp, err := rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{
			Filter: &criv1.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(p.UID)}},
		})
		return err == nil && len(resp.Items) == 0
	})
}

// TestImagesCommand imports a tarball with `skiff images import` into a
// node's containerd and lists it.
func TestImagesCommand(t *testing.T) {
	s := startNodeServer(t)
	tarball := filepath.Join(testImages(t), "busybox.tar")
	out, err := exec.Command(skiffBin, "images", "import", "--data-dir", s.dataDir, tarball).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "skiff.local/busybox:1") {
		t.Fatalf("skiff images import: %v\n%s", err, out)
	}
	out, err = exec.Command(skiffBin, "images", "list", "--data-dir", s.dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("skiff images list: %v\n%s", err, out)
	}
	assertLines(t, string(out), `^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$`, `^skiff.local/busybox\s+1\s+\w+`, `^skiff.local/pause\s+3.10-skiff\s+\w+`)
}

// TestExistingRuntime runs the node on a containerd the agent did not
// start (--container-runtime-endpoint).
func TestExistingRuntime(t *testing.T) {
	env := runtimetest.Start(t, func(c *runtime.ContainerdConfig) { c.CNIConfDir = filepath.Join(c.Dir, "cni") })
	env.ImportTestImages(t)
	s := startNodeServer(t, "--container-runtime-endpoint", env.Containerd.Endpoint(), "--cni-conf-dir", env.Config.CNIConfDir)
	s.mustKubectlIn(podYAML("ext", "  containers:\n  - name: c\n    image: skiff.local/busybox:1\n    command: [\"sh\", \"-c\", \"echo on-existing-runtime; exec sleep 3600\"]\n"), "apply", "-f", "-")
	waitPod(t, s.client(), "ext", 60*time.Second, "running", running)
	eventually(t, 20*time.Second, "logs", func() bool {
		out, _ := s.kubectl("logs", "ext")
		return strings.Contains(out, "on-existing-runtime")
	})
	if _, err := os.Stat(filepath.Join(s.dataDir, "agent", "containerd", "containerd.sock")); err == nil {
		t.Fatal("the agent started its own containerd although one was given")
	}
}
