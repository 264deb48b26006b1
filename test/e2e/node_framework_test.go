package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/images"
)

// nodeName is the node of single-node tests.
const nodeName = "e2e-node"

var (
	imagesOnce sync.Once
	imagesDir  string
	imagesErr  error
)

// testImages builds the test images once per test binary.
func testImages(t *testing.T) string {
	t.Helper()
	imagesOnce.Do(func() {
		imagesDir, imagesErr = os.MkdirTemp("", "skiff-e2e-images")
		if imagesErr == nil {
			_, imagesErr = images.Build(imagesDir)
		}
	})
	if imagesErr != nil {
		t.Fatalf("build test images: %v", imagesErr)
	}
	return imagesDir
}

// startNodeServer starts skiff server with its node agent and its own
// containerd, the test images preloaded. Cleanup removes every pod through
// CRI (so CNI releases its addresses), stops the server and purges what
// containerd left: processes, mounts, cgroups, the bridge and routes.
func startNodeServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	for _, bin := range []string{"containerd", "runc", "/usr/lib/cni/bridge"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("node tests need %s (make deps installs it): %v", bin, err)
		}
	}
	dataDir := runtimetest.ShortTempDir(t)
	imgDir := filepath.Join(dataDir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := testImages(t)
	for _, f := range []string{"busybox.tar", "testserver.tar"} {
		if err := os.Link(filepath.Join(src, f), filepath.Join(imgDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	cgroup := "/skiff-e2e-" + randHex(4)
	args := append([]string{"--agent-port", "0", "--node-name", nodeName, "--cgroup-parent", cgroup}, extraArgs...)
	// Runs last: if the start failed, or after the cleanup below.
	t.Cleanup(func() { purgeNode(t, dataDir, cgroup) })
	s := startServerIn(t, dataDir, args...)
	// Runs before the server's own cleanup: kill the server (containerd
	// lives on in its own process group), then remove the pods through
	// containerd while it still answers.
	t.Cleanup(func() {
		s.kill()
		purgeNode(t, dataDir, cgroup)
	})
	waitNodeReady(t, s, nodeName)
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitNodeReady waits until the node reports Ready.
func waitNodeReady(t *testing.T, s *server, name string) {
	t.Helper()
	c := s.client()
	eventually(t, 60*time.Second, "node "+name+" Ready", func() bool {
		n, err := c.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
}

// purgeNode removes everything a node test left behind. It runs after the
// server's own cleanup has stopped it.
func purgeNode(t *testing.T, dataDir, cgroup string) {
	sock := filepath.Join(dataDir, "agent", "containerd", "containerd.sock")
	if _, err := os.Stat(sock); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if rt, err := runtime.Dial(ctx, "unix://"+sock); err == nil {
			netns, ids := sandboxNetworks(ctx, rt)
			if err := runtimetest.RemoveAll(ctx, rt); err != nil {
				t.Logf("remove sandboxes: %v", err)
			}
			rt.Close()
			// What CNI could not tear down (a shim that died first).
			removeNetns(netns)
			removeCNIRules(ids)
		}
		cancel()
	}
	if err := runtimetest.Purge(dataDir); err != nil {
		t.Logf("purge %s: %v", dataDir, err)
	}
	removeCgroup(cgroup)
	_ = exec.Command("ip", "link", "del", "skiff0").Run()
	for _, cidr := range []string{"10.42.0.0/16", "10.43.0.0/16"} {
		_ = exec.Command("ip", "route", "del", "unreachable", cidr).Run()
	}
}

// sandboxNetworks returns the network namespaces and IDs of every
// sandbox, from containerd's verbose status.
func sandboxNetworks(ctx context.Context, rt *runtime.Runtime) ([]string, []string) {
	resp, err := rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil {
		return nil, nil
	}
	var netns, ids []string
	for _, sb := range resp.Items {
		ids = append(ids, sb.Id)
		st, err := rt.Runtime.PodSandboxStatus(ctx, &criv1.PodSandboxStatusRequest{PodSandboxId: sb.Id, Verbose: true})
		if err != nil {
			continue
		}
		var info struct {
			RuntimeSpec struct {
				Linux struct {
					Namespaces []struct{ Type, Path string }
				}
			}
		}
		if json.Unmarshal([]byte(st.Info["info"]), &info) != nil {
			continue
		}
		for _, ns := range info.RuntimeSpec.Linux.Namespaces {
			if ns.Type == "network" && strings.HasPrefix(ns.Path, "/var/run/netns/") {
				netns = append(netns, ns.Path)
			}
		}
	}
	return netns, ids
}

func removeNetns(paths []string) {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			_ = exec.Command("umount", p).Run()
			_ = os.Remove(p)
		}
	}
}

// removeCNIRules deletes the NAT rules and chains the bridge plugin made
// for the given sandboxes.
func removeCNIRules(ids []string) {
	out, err := exec.Command("iptables", "-t", "nat", "-S").Output()
	if err != nil {
		return
	}
	chains := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		for _, id := range ids {
			if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, id) {
				continue
			}
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], "CNI-") {
				chains[f[1]] = true
			}
			_ = exec.Command("sh", "-c", "iptables -t nat "+strings.Replace(line, "-A ", "-D ", 1)).Run()
		}
	}
	for ch := range chains {
		_ = exec.Command("iptables", "-t", "nat", "-F", ch).Run()
		_ = exec.Command("iptables", "-t", "nat", "-X", ch).Run()
	}
}

// removeCgroup removes a cgroup tree in every v1 hierarchy, deepest first.
func removeCgroup(rel string) {
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hier {
		root := filepath.Join(h, rel)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}
