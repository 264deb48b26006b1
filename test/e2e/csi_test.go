package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// csiDriverName is the test driver's name (test/csi/csidriver).
const csiDriverName = "dirs.csi.skiff.test"

// csiDriverProc is the test CSI driver running as its own process.
type csiDriverProc struct {
	cmd  *exec.Cmd
	root string
	out  *lockedBuffer
	done chan struct{}
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildCSIDriver builds the test driver into a temporary directory.
func buildCSIDriver(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "skiff-csi-dirs")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../test/csi/cmd/skiff-csi-dirs")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the test CSI driver: %v\n%s", err, out)
	}
	return bin
}

// startCSIDriver runs the driver against the node's agent: its volumes
// under dir/csi-root, its socket in dir, its registration socket in the
// agent's registration directory. It is killed (by pid) at cleanup if
// still running.
func startCSIDriver(t *testing.T, bin, dir, agentDir string) *csiDriverProc {
	t.Helper()
	p := &csiDriverProc{root: filepath.Join(dir, "csi-root"), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--endpoint", filepath.Join(dir, "csi.sock"),
		"--registration-dir", filepath.Join(agentDir, "plugins_registry"),
		"--root", p.root, "--node-id", nodeName, "--name", csiDriverName)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the test CSI driver: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("CSI driver log:\n%s", p.out.String())
		}
	})
	return p
}

// stop asks the driver to exit (it removes its sockets) and waits.
func (p *csiDriverProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the CSI driver did not exit on SIGTERM")
	}
}

// calls counts the driver's calls of method so far.
func (p *csiDriverProc) calls(method string) int {
	return strings.Count(p.out.String(), "method="+method+" ")
}

// mountsUnder lists the mount points at or below each dir.
func mountsUnder(t *testing.T, dirs ...string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		for _, d := range dirs {
			if fields[4] == d || strings.HasPrefix(fields[4], d+"/") {
				out = append(out, fields[4])
			}
		}
	}
	return out
}

func csiPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: csiDriverName, VolumeHandle: "vol1",
			}},
		},
	}
}

func csiClaim() *corev1.PersistentVolumeClaim {
	empty := ""
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &empty, VolumeName: "csi-pv",
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
		},
	}
}

// csiPod keeps the first content written to /data/file and prints it.
func csiPod(name string) *corev1.Pod {
	zero := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: nodeName, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "app", Image: "skiff.local/busybox:1",
				Command:      []string{"sh", "-c", `[ -f /data/file ] || echo "$HOSTNAME $(date +%s%N)" > /data/file; cat /data/file; exec sleep 3600`},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "csi-data"}}}},
		},
	}
}

// deletePod deletes a pod and waits until it is gone from the API.
func deletePod(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	zero := int64(0)
	if err := c.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "pod "+name+" gone", func() bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// nodeCSIDrivers returns the node's csi.volume.kubernetes.io/nodeid
// annotation.
func nodeCSIDrivers(c kubernetes.Interface) map[string]string {
	n, err := c.CoreV1().Nodes().Get(context.Background(), nodeName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	ids := map[string]string{}
	_ = json.Unmarshal([]byte(n.Annotations["csi.volume.kubernetes.io/nodeid"]), &ids)
	return ids
}

// failedMount reports whether the pod has a FailedMount event containing
// msg.
func failedMount(c kubernetes.Interface, pod, msg string) bool {
	ev, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, e := range ev.Items {
		if e.InvolvedObject.Name == pod && e.Reason == "FailedMount" && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

// TestCSIVolume: a static PV of the test CSI driver, reached through a
// claim. The pod waits (FailedMount) until the driver registers; then the
// volume is staged and published, the pod writes to it; a new pod after
// the first is deleted reads the same file; once the pods are gone the
// volume is unpublished and unstaged, no mount left; the driver leaving
// unregisters it from the node.
func TestCSIVolume(t *testing.T) {
	bin := buildCSIDriver(t)
	s := startNodeServer(t)
	c := s.client()
	ctx := context.Background()
	agentDir := filepath.Join(s.dataDir, "agent")
	nodeDirs := []string{filepath.Join(agentDir, "pods"), filepath.Join(agentDir, "plugins")}

	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, csiPV(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, csiClaim(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "claim bound", func() bool {
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "csi-data", metav1.GetOptions{})
		return err == nil && pvc.Status.Phase == corev1.ClaimBound
	})
	if _, err := c.CoreV1().Pods("default").Create(ctx, csiPod("writer"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "FailedMount for the unregistered driver", func() bool {
		return failedMount(c, "writer", "driver name "+csiDriverName+" not found in the list of registered CSI drivers")
	})
	if p, _ := c.CoreV1().Pods("default").Get(ctx, "writer", metav1.GetOptions{}); p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod without its volume: %s", statusSummary(p))
	}

	drv := startCSIDriver(t, bin, s.dataDir, agentDir)
	eventually(t, 30*time.Second, "driver registered on the node", func() bool {
		return nodeCSIDrivers(c)[csiDriverName] == nodeName
	})
	first := podIdentity(t, c, "writer")
	if !strings.HasPrefix(first, "writer ") {
		t.Fatalf("writer printed %q", first)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(drv.root, "vol1", "file"))); got != first {
		t.Errorf("driver's directory holds %q, pod wrote %q", got, first)
	}
	if m := mountsUnder(t, nodeDirs...); len(m) < 2 {
		t.Errorf("mounts while the pod runs: %v, want the staging and the pod's publication", m)
	}

	deletePod(t, c, "writer")
	eventually(t, 30*time.Second, "volume unstaged after the pod left", func() bool {
		return len(mountsUnder(t, nodeDirs...)) == 0 && drv.calls("NodeUnstageVolume") == 1
	})
	if _, err := c.CoreV1().Pods("default").Create(ctx, csiPod("reader"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := podIdentity(t, c, "reader"); got != first {
		t.Errorf("second pod reads %q, first wrote %q", got, first)
	}
	deletePod(t, c, "reader")
	eventually(t, 30*time.Second, "volume unstaged again", func() bool {
		return len(mountsUnder(t, nodeDirs...)) == 0 && drv.calls("NodeUnstageVolume") == 2
	})
	for _, m := range []string{"NodeStageVolume", "NodePublishVolume", "NodeUnpublishVolume"} {
		if n := drv.calls(m); n != 2 {
			t.Errorf("%s called %d times, want 2 (once per pod)", m, n)
		}
	}
	if m := mountsUnder(t, drv.root); len(m) != 0 {
		t.Errorf("mounts left under the driver's root: %v", m)
	}

	drv.stop(t)
	eventually(t, 30*time.Second, "driver unregistered from the node", func() bool {
		_, ok := nodeCSIDrivers(c)[csiDriverName]
		return !ok
	})
}
