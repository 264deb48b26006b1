package volume

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPodUIDsAndTeardown(t *testing.T) {
	m, _, root := newTestManager(t, testObjects()...)
	if uids, err := m.PodUIDs(); err != nil || len(uids) != 0 {
		t.Fatalf("PodUIDs before anything = %v, %v", uids, err)
	}
	setup(t, m, testPod("uid-a", emptyDirVol("x", "", "")))
	setup(t, m, testPod("uid-b", cmVol("c", "cfg", nil, nil, false)))
	if err := os.WriteFile(filepath.Join(root, "not-a-pod"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	uids, err := m.PodUIDs()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(uids)
	if !slices.Equal(uids, []types.UID{"uid-a", "uid-b"}) {
		t.Errorf("PodUIDs = %v", uids)
	}
	// A fresh manager (agent restart) sees the same pods and can tear them down.
	m2 := New(Config{RootDir: root})
	for _, uid := range uids {
		if err := m2.Teardown(uid); err != nil {
			t.Fatalf("Teardown(%s): %v", uid, err)
		}
	}
	if uids, _ := m2.PodUIDs(); len(uids) != 0 {
		t.Errorf("PodUIDs after teardown = %v", uids)
	}
	if err := m2.Teardown("uid-a"); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	if err := m2.Teardown("../etc"); err == nil {
		t.Error("Teardown of a path-like UID must be refused")
	}
}

func TestTeardownUnmountsNestedMounts(t *testing.T) {
	requireMounts(t)
	m, _, root := newTestManager(t, testObjects()...)
	pod := testPod("uid-nest", emptyDirVol("mem", corev1.StorageMediumMemory, "1Mi"), secretVol("s", "sec", nil, nil, false))
	vols := setup(t, m, pod)
	// Something propagated into the memory volume (e.g. a Bidirectional mount).
	inner := filepath.Join(vols["mem"].HostPath, "inner")
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", inner, "tmpfs", 0, "size=4096"); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
	if left, _ := mountsUnder(root); len(left) != 0 {
		t.Errorf("mounts left: %v", left)
	}
	assertNotExist(t, filepath.Join(root, "uid-nest"))
}

func TestTeardownRefusesWhileMounted(t *testing.T) {
	requireMounts(t)
	m, _, root := newTestManager(t)
	pod := testPod("uid-busy", emptyDirVol("mem", corev1.StorageMediumMemory, "1Mi"))
	dir := setup(t, m, pod)["mem"].HostPath
	marker := filepath.Join(dir, "keep")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An open file keeps the tmpfs busy: the unmount fails, nothing is removed.
	f, err := os.Open(marker)
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	err = m.Teardown(pod.UID)
	if cerr := os.Chdir(cwd); cerr != nil {
		t.Fatal(cerr)
	}
	f.Close()
	if err == nil {
		t.Fatal("Teardown succeeded on a busy mount")
	}
	if got := readFile(t, marker); got != "x" {
		t.Errorf("content removed under a mount that could not be unmounted")
	}
	if err := m.Teardown(pod.UID); err != nil {
		t.Fatalf("Teardown once idle: %v", err)
	}
	assertNotExist(t, filepath.Join(root, "uid-busy"))
}
