package volume

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller/volume/localpath"
)

// deletedVolume is a local-path volume pinned to host whose object is
// being deleted, holding only the cleanup finalizer.
func deletedVolume(name, path, host string, policy corev1.PersistentVolumeReclaimPolicy) *corev1.PersistentVolume {
	pv := localVolume(name, path, true)
	pv.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pv.Finalizers = []string{localpath.CleanupFinalizer}
	pv.Spec.PersistentVolumeReclaimPolicy = policy
	pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{host}}},
	}}}}
	return pv
}

// volumeDirWithData makes a volume directory holding a file.
func volumeDirWithData(t *testing.T, root, name string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "db"), []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newTestCleaner returns a cleaner for node-a over a lister holding objs
// (clean is called directly; Run is tested on its own).
func newTestCleaner(t *testing.T, root string, objs ...runtime.Object) (*Cleaner, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	c, err := NewCleaner(CleanerConfig{Client: client, Hostname: testNode, StorageRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	c.lister = corelisters.NewPersistentVolumeLister(idx)
	return c, client
}

func finalizersOf(t *testing.T, client *fake.Clientset, name string) []string {
	t.Helper()
	pv, err := client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pv.Finalizers
}

func TestCleanerClean(t *testing.T) {
	del, retain := corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain
	cases := []struct {
		name        string
		pv          func(dir string) *corev1.PersistentVolume
		wantRemoved bool
		wantFinal   []string
	}{
		{"Delete", func(dir string) *corev1.PersistentVolume { return deletedVolume("pv1", dir, testNode, del) }, true, nil},
		{"Retain keeps the data", func(dir string) *corev1.PersistentVolume { return deletedVolume("pv1", dir, testNode, retain) }, false, nil},
		{"still bound", func(dir string) *corev1.PersistentVolume {
			pv := deletedVolume("pv1", dir, testNode, del)
			pv.Finalizers = append(pv.Finalizers, pvProtection)
			return pv
		}, false, []string{localpath.CleanupFinalizer, pvProtection}},
		{"not deleted", func(dir string) *corev1.PersistentVolume {
			pv := deletedVolume("pv1", dir, testNode, del)
			pv.DeletionTimestamp = nil
			return pv
		}, false, []string{localpath.CleanupFinalizer}},
		{"another node's", func(dir string) *corev1.PersistentVolume { return deletedVolume("pv1", dir, "node-b", del) }, false,
			[]string{localpath.CleanupFinalizer}},
		{"not provisioned by local-path", func(dir string) *corev1.PersistentVolume {
			pv := deletedVolume("pv1", dir, testNode, del)
			pv.Annotations = nil
			return pv
		}, false, []string{localpath.CleanupFinalizer}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := volumeDirWithData(t, root, "pvc-1_ns1_data")
			c, client := newTestCleaner(t, root, tc.pv(dir))
			if err := c.clean(context.Background(), "pv1"); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(dir)
			if removed := os.IsNotExist(err); removed != tc.wantRemoved {
				t.Errorf("removed = %v, want %v", removed, tc.wantRemoved)
			}
			if got := finalizersOf(t, client, "pv1"); !slices.Equal(got, tc.wantFinal) {
				t.Errorf("finalizers %v, want %v", got, tc.wantFinal)
			}
		})
	}
}

// TestCleanerStaysInsideTheRoot: a volume whose path is not directly in
// the storage root, or whose directory is a symlink out of it, never
// costs data outside the root; the finalizer goes so the object can.
func TestCleanerStaysInsideTheRoot(t *testing.T) {
	del := corev1.PersistentVolumeReclaimDelete
	root, outside := t.TempDir(), t.TempDir()
	victim := volumeDirWithData(t, outside, "precious")
	nested := volumeDirWithData(t, root, "a")
	link := filepath.Join(root, "pvc-link_ns1_data")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	c, client := newTestCleaner(t, root,
		deletedVolume("pv-out", victim, testNode, del),
		deletedVolume("pv-nested", filepath.Join(nested, "sub"), testNode, del),
		deletedVolume("pv-link", link, testNode, del))
	for _, name := range []string{"pv-out", "pv-nested", "pv-link"} {
		if err := c.clean(context.Background(), name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := finalizersOf(t, client, name); len(got) != 0 {
			t.Errorf("%s: finalizers %v", name, got)
		}
	}
	if got := readFile(t, filepath.Join(victim, "sub", "db")); got != "rows" {
		t.Error("data outside the storage root was touched")
	}
	if got := readFile(t, filepath.Join(nested, "sub", "db")); got != "rows" {
		t.Error("a nested path was removed")
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the symlink in the root should go: %v", err)
	}
}

// TestCleanerRefusesMountedDirectory: something mounted inside the volume
// directory stops the removal until it is unmounted.
func TestCleanerRefusesMountedDirectory(t *testing.T) {
	requireMounts(t)
	root := t.TempDir()
	t.Cleanup(func() { cleanupMounts(t, root) })
	dir := volumeDirWithData(t, root, "pvc-1_ns1_data")
	inner := filepath.Join(dir, "sub")
	if err := syscall.Mount("tmpfs", inner, "tmpfs", 0, "size=4096"); err != nil {
		t.Fatal(err)
	}
	c, client := newTestCleaner(t, root, deletedVolume("pv1", dir, testNode, corev1.PersistentVolumeReclaimDelete))
	if err := c.clean(context.Background(), "pv1"); err == nil {
		t.Fatal("removed a directory with a mount inside")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("directory gone: %v", err)
	}
	if got := finalizersOf(t, client, "pv1"); len(got) != 1 {
		t.Errorf("finalizer removed before the directory: %v", got)
	}
	if err := syscall.Unmount(inner, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.clean(context.Background(), "pv1"); err != nil {
		t.Fatal(err)
	}
	assertNotExist(t, dir)
}

// TestCleanerRun: the running cleaner notices a deleted volume through its
// informer, removes the directory and then the finalizer.
func TestCleanerRun(t *testing.T) {
	root := t.TempDir()
	dir := volumeDirWithData(t, root, "pvc-1_ns1_data")
	client := fake.NewClientset()
	c, err := NewCleaner(CleanerConfig{Client: client, Hostname: testNode, StorageRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	pv := deletedVolume("pv1", dir, testNode, corev1.PersistentVolumeReclaimDelete)
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(finalizersOf(t, client, "pv1")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("finalizer not removed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	assertNotExist(t, dir)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewCleanerChecksConfig(t *testing.T) {
	if _, err := NewCleaner(CleanerConfig{Client: fake.NewClientset(), Hostname: "n"}); err == nil {
		t.Error("no storage root accepted")
	}
}
