package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/skiff/skiff/test/images"
)

// startRegistry runs Debian's docker-registry on a loopback port with its
// storage in a temporary directory, and returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("registry tests need Debian's docker-registry (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	path := filepath.Join(dir, "config.yml")
	writeFile(t, path, cfg)
	cmd := exec.Command(bin, "serve", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	eventually(t, 20*time.Second, "the registry", func() bool {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return addr
}

// TestPullFromRegistry: an image that is only in a registry is pulled
// through CRI (imagePullPolicy Always), and the pod runs.
func TestPullFromRegistry(t *testing.T) {
	addr := startRegistry(t)
	img, err := images.TestServerImage()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(addr+"/skiff/pulled:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push to the test registry: %v", err)
	}
	s := startNodeServer(t, "--insecure-registry", addr)
	s.mustKubectlIn(podYAML("pulled", `  containers:
  - name: c
    image: `+addr+`/skiff/pulled:1
    imagePullPolicy: Always
    args: ["serve", "--port", "8080"]
`), "apply", "-f", "-")
	p := waitPod(t, s.client(), "pulled", 90*time.Second, "running", running)
	if p.Status.ContainerStatuses[0].ImageID == "" {
		t.Fatalf("no imageID: %s", statusSummary(p))
	}
	assertLines(t, s.mustKubectl("describe", "pod", "pulled"), `Normal\s+Pulling\s+.*Pulling image "`+addr+`/skiff/pulled:1"`,
		`Normal\s+Pulled\s+.*Successfully pulled image "`+addr+`/skiff/pulled:1" in `)
}
