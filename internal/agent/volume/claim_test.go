package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/controller/volume/localpath"
)

func claimVol(name, claim string, readOnly bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: readOnly}}}
}

// pendingClaim is a claim not bound yet.
func pendingClaim(name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

// bind binds claim to pv in the fake API, as the volume controller would.
func bind(t *testing.T, client *fake.Clientset, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) {
	t.Helper()
	ctx := context.Background()
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
	pv.Status.Phase = corev1.VolumeBound
	if _, err := client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim = claim.DeepCopy()
	claim.Spec.VolumeName = pv.Name
	claim.Status.Phase = corev1.ClaimBound
	if _, err := client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func localVolume(name, path string, provisioned bool) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			Local: &corev1.LocalVolumeSource{Path: path}}},
	}
	if provisioned {
		pv.Annotations = map[string]string{"pv.kubernetes.io/provisioned-by": localpath.Name}
	}
	return pv
}

// storageDir is the manager's default storage root.
func storageDir(root string) string { return filepath.Join(filepath.Dir(root), "storage") }

// TestClaimPendingThenLocalPath: the pod waits while its claim is
// Pending; once bound to a local-path volume, the directory is created
// and bind-mounted; teardown unmounts it and keeps the data.
func TestClaimPendingThenLocalPath(t *testing.T) {
	requireMounts(t)
	claim := pendingClaim("data")
	m, client, root := newTestManager(t, claim)
	pod := testPod("uid-pvc", claimVol("data", "data", false))

	vols, err := m.Setup(context.Background(), pod)
	mes := MountErrors(err)
	if len(mes) != 1 || !errors.Is(mes[0], errClaimNotBound) {
		t.Fatalf("Setup of a pending claim: %v", err)
	}
	want := "Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: " +
		"error processing PVC ns1/data: PVC is not bound"
	if mes[0].Error() != want {
		t.Errorf("message\n got %q\nwant %q", mes[0].Error(), want)
	}
	if _, ok := vols["data"]; ok {
		t.Error("a pending claim's volume must not be returned")
	}

	dir := filepath.Join(storageDir(root), localpath.DirName("pvc-1", testNS, "data"))
	bind(t, client, claim, localVolume("pvc-1", dir, true))
	vol := setup(t, m, pod)["data"]
	target := filepath.Join(root, "uid-pvc", "volumes", "kubernetes.io~local-volume", "data")
	if vol.HostPath != target || vol.ReadOnly {
		t.Fatalf("volume %+v, want %s", vol, target)
	}
	if got := modeOf(t, dir); got != 0o777 {
		t.Errorf("directory mode %o, want 777", got)
	}
	if ok, _ := isMountPoint(t, target); !ok {
		t.Fatal("volume is not mounted")
	}
	if err := os.WriteFile(filepath.Join(target, "db"), []byte("rows"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "db")); got != "rows" {
		t.Errorf("data written in the pod is not in the volume: %q", got)
	}
	setup(t, m, pod) // again: nothing changes, nothing is mounted twice
	if points, _ := mountsUnder(target); len(points) != 1 {
		t.Errorf("mounts at the target: %v", points)
	}

	if err := m.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
	assertNotExist(t, filepath.Join(root, "uid-pvc"))
	if got := readFile(t, filepath.Join(dir, "db")); got != "rows" {
		t.Errorf("teardown lost the volume's data: %q", got)
	}
}

func TestClaimReadOnly(t *testing.T) {
	requireMounts(t)
	claim := pendingClaim("data")
	m, client, root := newTestManager(t, claim)
	dir := t.TempDir()
	bind(t, client, claim, localVolume("pv-static", dir, false))
	vol := setup(t, m, testPod("uid-ro", claimVol("data", "data", true)))["data"]
	if !vol.ReadOnly {
		t.Error("volume not marked read-only")
	}
	err := os.WriteFile(filepath.Join(vol.HostPath, "x"), nil, 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("write through a read-only volume: %v, want EROFS", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Errorf("the volume itself must stay writable: %v", err)
	}
	if err := m.Teardown("uid-ro"); err != nil {
		t.Fatal(err)
	}
	assertNotExist(t, filepath.Join(root, "uid-ro"))
}

func TestClaimFsGroup(t *testing.T) {
	requireMounts(t)
	claim := pendingClaim("data")
	m, client, root := newTestManager(t, claim)
	dir := filepath.Join(storageDir(root), "pvc-g_ns1_data")
	bind(t, client, claim, localVolume("pvc-g", dir, true))
	pod := testPod("uid-g", claimVol("data", "data", false))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(2345))}
	setup(t, m, pod)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 2345 || fi.Mode()&os.ModeSetgid == 0 {
		t.Errorf("gid %d mode %v, want group 2345 with setgid", gid, fi.Mode())
	}
}

func TestClaimVolumeSources(t *testing.T) {
	host := t.TempDir()
	cases := []struct {
		name    string
		pv      func(root string) *corev1.PersistentVolume
		wantErr string
		check   func(t *testing.T, root string, vol Volume)
	}{
		{"static local path missing", func(string) *corev1.PersistentVolume {
			return localVolume("pv1", filepath.Join(host, "missing"), false)
		}, `path "` + filepath.Join(host, "missing") + `" does not exist`, func(t *testing.T, _ string, _ Volume) {
			assertNotExist(t, filepath.Join(host, "missing"))
		}},
		{"local path is a file", func(string) *corev1.PersistentVolume {
			f := filepath.Join(host, "file")
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return localVolume("pv1", f, false)
		}, "is not a directory", nil},
		{"local-path outside the storage root", func(string) *corev1.PersistentVolume {
			return localVolume("pv1", filepath.Join(host, "elsewhere", "pvc-1_ns1_data"), true)
		}, "is not a directory in the storage root", func(t *testing.T, _ string, _ Volume) {
			assertNotExist(t, filepath.Join(host, "elsewhere"))
		}},
		{"local-path escaping with ..", func(root string) *corev1.PersistentVolume {
			return localVolume("pv1", storageDir(root)+"/../escape", true)
		}, "is not a directory in the storage root", func(t *testing.T, root string, _ Volume) {
			assertNotExist(t, filepath.Join(filepath.Dir(root), "escape"))
		}},
		{"hostPath", func(string) *corev1.PersistentVolume {
			typ := corev1.HostPathDirectoryOrCreate
			return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(host, "hp"), Type: &typ}}}}
		}, "", func(t *testing.T, _ string, vol Volume) {
			if vol.HostPath != filepath.Join(host, "hp") || vol.ReadOnly {
				t.Errorf("volume %+v", vol)
			}
			if fi, err := os.Stat(vol.HostPath); err != nil || !fi.IsDir() {
				t.Errorf("DirectoryOrCreate: %v", err)
			}
		}},
		{"hostPath of the wrong type", func(string) *corev1.PersistentVolume {
			typ := corev1.HostPathSocket
			return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: host, Type: &typ}}}}
		}, "is not a socket file", nil},
		{"CSI", func(string) *corev1.PersistentVolume {
			return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "h"}}}}
		}, `kubernetes.io/csi: driver name csi.example.com not found in the list of registered CSI drivers`, nil},
		{"block", func(string) *corev1.PersistentVolume {
			pv := localVolume("pv1", host, false)
			mode := corev1.PersistentVolumeBlock
			pv.Spec.VolumeMode = &mode
			return pv
		}, "volumeMode Block is not supported yet", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claim := pendingClaim("data")
			m, client, root := newTestManager(t, claim)
			bind(t, client, claim, tc.pv(root))
			vols, err := m.Setup(context.Background(), testPod("uid-src", claimVol("data", "data", false)))
			if tc.wantErr != "" {
				if len(MountErrors(err)) != 1 || !strings.Contains(err.Error(), tc.wantErr) ||
					!strings.HasPrefix(err.Error(), `MountVolume.SetUp failed for volume "data" : `) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, root, vols["data"])
			}
		})
	}
}

func TestClaimProblems(t *testing.T) {
	deleting := pendingClaim("data")
	deleting.DeletionTimestamp = &metav1.Time{}
	deleting.Status.Phase = corev1.ClaimBound
	deleting.Spec.VolumeName = "pv1"
	cases := []struct {
		name  string
		setup func(t *testing.T, client *fake.Clientset)
		want  string
	}{
		{"claim missing", func(*testing.T, *fake.Clientset) {},
			`error processing PVC ns1/data: failed to fetch PVC from API server: persistentvolumeclaims "data" not found`},
		{"claim being deleted", func(t *testing.T, client *fake.Clientset) {
			if _, err := client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), deleting, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "can't start pod because PVC ns1/data is being deleted"},
		{"volume missing", func(t *testing.T, client *fake.Clientset) {
			c := pendingClaim("data")
			c.Spec.VolumeName, c.Status.Phase = "pv1", corev1.ClaimBound
			if _, err := client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), c, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, `failed to fetch PV pv1 from API server`},
		{"volume bound to another claim", func(t *testing.T, client *fake.Clientset) {
			c := pendingClaim("data")
			if _, err := client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), c, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bind(t, client, c, localVolume("pv1", "/x", false))
			pv, _ := client.CoreV1().PersistentVolumes().Get(context.Background(), "pv1", metav1.GetOptions{})
			pv.Spec.ClaimRef.UID = "someone-else"
			if _, err := client.CoreV1().PersistentVolumes().Update(context.Background(), pv, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, `found PV object "pv1" but its ClaimRef.UID ("someone-else") does not point to claim.UID ("uid-data")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, client, _ := newTestManager(t)
			tc.setup(t, client)
			_, err := m.Setup(context.Background(), testPod("uid-p", claimVol("data", "data", false)))
			var ce *claimError
			if len(MountErrors(err)) != 1 || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a claim error with %q", err, tc.want)
			}
		})
	}
}
