package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/cluster"
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
	cluster.PurgeNode(t.Logf, dataDir, cgroup)
	cluster.PurgeHostNetwork("skiff0", "skiff")
}
