package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

const (
	testNS   = "ns1"
	testNode = "node-a"
)

// newTestManager returns a manager over a fresh pods dir whose mounts are
// always unmounted at the end of the test, whatever happens.
func newTestManager(t *testing.T, objs ...runtime.Object) (*Manager, *fake.Clientset, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pods")
	t.Cleanup(func() { cleanupMounts(t, filepath.Dir(root)) })
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: testNode},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("2"),
			corev1.ResourceMemory: resource.MustParse("1Gi"),
		}},
	}
	client := fake.NewClientset(append(objs, node)...)
	return New(Config{RootDir: root, Client: client, NodeName: testNode}), client, root
}

// cleanupMounts unmounts anything left below dir (lazily if it must) so a
// failing test never leaks a mount.
func cleanupMounts(t *testing.T, dir string) {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return
	}
	points, err := mountsUnder(resolved)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, p := range points {
		if err := syscall.Unmount(p, 0); err != nil {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
	if left, _ := mountsUnder(resolved); len(left) > 0 {
		t.Errorf("cleanup: mounts left behind: %v", left)
	}
}

// requireMounts skips tests that need to mount when the process cannot.
func requireMounts(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4096"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	if err := syscall.Unmount(dir, 0); err != nil {
		t.Fatalf("unmount probe: %v", err)
	}
}

func testPod(uid string, vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: testNS, Name: "web-0", UID: types.UID(uid),
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "hello"},
		},
		Spec: corev1.PodSpec{
			NodeName: testNode,
			Volumes:  vols,
			Containers: []corev1.Container{{
				Name: "app",
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
				},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func setup(t *testing.T, m *Manager, pod *corev1.Pod) Volumes {
	t.Helper()
	vols, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return vols
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// modeOf returns the permission bits (with setgid/sticky) of path,
// following symlinks.
func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	return fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSticky)
}

func isMountPoint(t *testing.T, path string) (bool, string) {
	t.Helper()
	mounts, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if mounts[i].point == path {
			return true, mounts[i].fsType
		}
	}
	return false, ""
}

func assertNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: err = %v, want not exist", path, err)
	}
}
