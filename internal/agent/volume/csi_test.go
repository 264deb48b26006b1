package volume

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/agent/csi"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/csi/csidriver"
)

// csiEnv is a manager wired to an in-process test driver.
type csiEnv struct {
	m       *Manager
	client  *fake.Clientset
	root    string // pods dir
	driver  *csidriver.Driver
	drivers *testDrivers
}

// testDrivers is a registry that can pretend the driver is gone.
type testDrivers struct {
	mu  sync.Mutex
	reg *csi.Registry
	off bool
}

func (t *testDrivers) Lookup(name string) (*csi.Driver, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.off {
		return nil, errors.New("driver name " + name + " not found in the list of registered CSI drivers")
	}
	return t.reg.Lookup(name)
}

func (t *testDrivers) setOff(off bool) {
	t.mu.Lock()
	t.off = off
	t.mu.Unlock()
}

// newCSIEnv starts a test driver (its volumes under the test's directory,
// so the manager's cleanup unmounts anything left) and a manager that
// knows it.
func newCSIEnv(t *testing.T, cfg csidriver.Config) *csiEnv {
	t.Helper()
	requireMounts(t)
	m, client, root := newTestManager(t)
	cfg.Root = filepath.Join(filepath.Dir(root), "driver")
	cfg.Endpoint = filepath.Join(runtimetest.ShortTempDir(t), "csi.sock")
	cfg.NodeID = testNode
	d, err := csidriver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("driver: %v", err)
		}
	})
	<-d.Ready()
	conn, err := csi.Connect(ctx, d.Name(), cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	reg := csi.NewRegistry()
	reg.Add(conn)
	drivers := &testDrivers{reg: reg}
	m.cfg.CSIDrivers = drivers
	return &csiEnv{m: m, client: client, root: root, driver: d, drivers: drivers}
}

// csiVolume is a CSI PV of the test driver.
func csiVolume(name, handle string, mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver: csidriver.DefaultName, VolumeHandle: handle, FSType: "ext4",
				VolumeAttributes: map[string]string{"color": "blue"},
			}},
		},
	}
}

// claimFor creates a claim bound to pv.
func (e *csiEnv) claimFor(t *testing.T, claimName string, pv *corev1.PersistentVolume) {
	t.Helper()
	c := pendingClaim(claimName)
	if _, err := e.client.CoreV1().PersistentVolumeClaims(testNS).Create(context.Background(), c, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind(t, e.client, c, pv)
}

// calls returns the driver's volume calls (registration and info calls
// left out) since the last time it was asked.
func (e *csiEnv) calls(seen *int) []csidriver.Call {
	all := e.driver.Calls()
	var out []csidriver.Call
	for _, c := range all[*seen:] {
		if strings.HasPrefix(c.Method, "NodeStage") || strings.HasPrefix(c.Method, "NodeUnstage") ||
			strings.HasPrefix(c.Method, "NodePublish") || strings.HasPrefix(c.Method, "NodeUnpublish") {
			out = append(out, c)
		}
	}
	*seen = len(all)
	return out
}

func methods(calls []csidriver.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Method)
	}
	return out
}

func stagingPath(root, handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return filepath.Join(filepath.Dir(root), "plugins", "kubernetes.io", "csi", csidriver.DefaultName, hex.EncodeToString(sum[:]), "globalmount")
}

// TestCSIStageOncePublishPerPod: two pods on one volume; the volume is
// staged once, published for each pod, unpublished as each leaves and
// unstaged after the last; the data stays in the driver's directory.
func TestCSIStageOncePublishPerPod(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	seen := 0
	podA := testPod("uid-a", claimVol("data", "data", false))
	vols := setup(t, e.m, podA)
	target := filepath.Join(e.root, "uid-a", "volumes", pluginCSI, "pv1", "mount")
	staging := stagingPath(e.root, "vol1")
	if vols["data"].HostPath != target || vols["data"].ReadOnly {
		t.Fatalf("volume = %+v, want %s", vols["data"], target)
	}
	calls := e.calls(&seen)
	if got := methods(calls); !slices.Equal(got, []string{"NodeStageVolume", "NodePublishVolume"}) {
		t.Fatalf("calls = %v", got)
	}
	stage := calls[0].Request.(*csipb.NodeStageVolumeRequest)
	pub := calls[1].Request.(*csipb.NodePublishVolumeRequest)
	if stage.VolumeId != "vol1" || stage.StagingTargetPath != staging || stage.VolumeContext["color"] != "blue" ||
		stage.VolumeCapability.GetMount().GetFsType() != "ext4" ||
		stage.VolumeCapability.GetAccessMode().GetMode() != csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER {
		t.Errorf("stage request = %v", stage)
	}
	if pub.VolumeId != "vol1" || pub.TargetPath != target || pub.StagingTargetPath != staging || pub.Readonly ||
		pub.VolumeContext["color"] != "blue" || len(pub.Secrets) != 0 {
		t.Errorf("publish request = %v", pub)
	}
	if err := os.WriteFile(filepath.Join(target, "hello"), []byte("world"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Setup again (every sync) calls nothing; a second pod only publishes.
	setup(t, e.m, podA)
	setup(t, e.m, testPod("uid-b", claimVol("data", "data", false)))
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodePublishVolume"}) {
		t.Fatalf("calls for the second pod = %v", got)
	}
	if got := readFile(t, filepath.Join(e.root, "uid-b", "volumes", pluginCSI, "pv1", "mount", "hello")); got != "world" {
		t.Errorf("second pod reads %q", got)
	}

	if err := e.m.Teardown("uid-a"); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnpublishVolume"}) {
		t.Fatalf("calls for the first pod's teardown = %v", got)
	}
	if m, _ := isMountPoint(t, staging); !m {
		t.Error("staging unmounted while a pod still uses the volume")
	}
	if err := e.m.Teardown("uid-b"); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Fatalf("calls for the last pod's teardown = %v", got)
	}
	if left, _ := mountsUnder(filepath.Dir(e.root)); len(left) != 0 {
		t.Errorf("mounts left: %v", left)
	}
	assertNotExist(t, filepath.Dir(staging))
	if got := readFile(t, filepath.Join(e.driver.VolumeDir("vol1"), "hello")); got != "world" {
		t.Errorf("data in the driver's directory = %q", got)
	}
}

// TestCSIReadOnlySecretsAccessModes: a read-only claim volume is published
// read-only; the PV's secret references reach the driver; ReadOnlyMany
// maps to MULTI_NODE_READER_ONLY.
func TestCSIReadOnlySecretsAccessModes(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "creds"}, Data: map[string][]byte{"key": []byte("s3cret")}}
	if _, err := e.client.CoreV1().Secrets("kube-system").Create(context.Background(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv := csiVolume("pv1", "vol1", corev1.ReadOnlyMany)
	ref := &corev1.SecretReference{Namespace: "kube-system", Name: "creds"}
	pv.Spec.CSI.NodeStageSecretRef, pv.Spec.CSI.NodePublishSecretRef = ref, ref
	e.claimFor(t, "data", pv)
	seen := 0
	vols := setup(t, e.m, testPod("uid-ro", claimVol("data", "data", true)))
	if !vols["data"].ReadOnly {
		t.Errorf("volume = %+v, want read-only", vols["data"])
	}
	calls := e.calls(&seen)
	if len(calls) != 2 {
		t.Fatalf("calls = %v", methods(calls))
	}
	stage := calls[0].Request.(*csipb.NodeStageVolumeRequest)
	pub := calls[1].Request.(*csipb.NodePublishVolumeRequest)
	if stage.Secrets["key"] != "s3cret" || pub.Secrets["key"] != "s3cret" || !pub.Readonly ||
		pub.VolumeCapability.GetAccessMode().GetMode() != csipb.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY {
		t.Errorf("stage %v\npublish %v", stage, pub)
	}
	err := os.WriteFile(filepath.Join(vols["data"].HostPath, "x"), nil, 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to a read-only publication: %v, want EROFS", err)
	}
	if err := e.m.Teardown("uid-ro"); err != nil {
		t.Fatal(err)
	}
}

// TestCSIMountErrors: a missing driver and a failing NodeStageVolume are
// the pod's mount errors; once the driver works, Setup succeeds.
func TestCSIMountErrors(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	pod := testPod("uid-err", claimVol("data", "data", false))

	e.drivers.setOff(true)
	_, err := e.m.Setup(context.Background(), pod)
	if mes := MountErrors(err); len(mes) != 1 || !strings.Contains(err.Error(), "not found in the list of registered CSI drivers") {
		t.Fatalf("err = %v", err)
	}
	e.drivers.setOff(false)
	e.driver.SetFailure("NodeStageVolume", errors.New("disk on fire"))
	_, err = e.m.Setup(context.Background(), pod)
	if mes := MountErrors(err); len(mes) != 1 || !strings.HasPrefix(err.Error(), `MountVolume.SetUp failed for volume "data" : `) ||
		!strings.Contains(err.Error(), "NodeStageVolume") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	e.driver.SetFailure("NodeStageVolume", nil)
	setup(t, e.m, pod)
	if err := e.m.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
	if left, _ := mountsUnder(filepath.Dir(e.root)); len(left) != 0 {
		t.Errorf("mounts left: %v", left)
	}
}

// TestCSITeardownAfterRestart: a new manager (an agent restart) finds the
// records on disk and unpublishes and unstages through the driver.
func TestCSITeardownAfterRestart(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	setup(t, e.m, testPod("uid-r", claimVol("data", "data", false)))
	seen := len(e.driver.Calls())
	m2 := New(Config{RootDir: e.root, CSIDrivers: e.drivers})
	if err := m2.Teardown("uid-r"); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Fatalf("calls = %v", got)
	}
	if left, _ := mountsUnder(filepath.Dir(e.root)); len(left) != 0 {
		t.Errorf("mounts left: %v", left)
	}
}

// TestCSISetupAfterRestartBeforeDriver: after a restart, a pod's volume
// that is still published is used as it is, before its driver registers
// again; teardown then goes through the driver.
func TestCSISetupAfterRestartBeforeDriver(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	pod := testPod("uid-s", claimVol("data", "data", false))
	want := setup(t, e.m, pod)["data"]
	seen := len(e.driver.Calls())
	e.drivers.setOff(true)
	m2 := New(Config{RootDir: e.root, Client: e.client, NodeName: testNode, CSIDrivers: e.drivers})
	if got := setup(t, m2, pod)["data"]; got != want {
		t.Errorf("volume after restart = %+v, want %+v", got, want)
	}
	if got := methods(e.calls(&seen)); len(got) != 0 {
		t.Errorf("calls without the driver = %v", got)
	}
	e.drivers.setOff(false)
	if err := m2.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnpublishVolume", "NodeUnstageVolume"}) {
		t.Fatalf("calls = %v", got)
	}
}

// TestCSIInlineUnsupported: inline CSI volumes are refused clearly.
func TestCSIInlineUnsupported(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod("uid-i", corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "x.csi"}}})
	_, err := m.Setup(context.Background(), pod)
	if mes := MountErrors(err); len(mes) != 1 || !strings.Contains(err.Error(), "inline CSI volumes are not supported yet") {
		t.Fatalf("err = %v", err)
	}
}

// TestCSITeardownWithoutDriver: with the driver gone, Teardown still
// unmounts the pod's publication locally (removing the pod's directory
// must never reach into the volume) and reports the failure; the staging
// is released once the driver is back.
func TestCSITeardownWithoutDriver(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	vols := setup(t, e.m, testPod("uid-g", claimVol("data", "data", false)))
	if err := os.WriteFile(filepath.Join(vols["data"].HostPath, "keep"), []byte("me"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.drivers.setOff(true)
	err := e.m.Teardown("uid-g")
	if err == nil || !strings.Contains(err.Error(), "UnmountVolume.TearDown failed") {
		t.Fatalf("Teardown = %v, want the driver's absence reported", err)
	}
	assertNotExist(t, filepath.Join(e.root, "uid-g"))
	staging := stagingPath(e.root, "vol1")
	if m, _ := isMountPoint(t, staging); !m {
		t.Fatal("staging gone without the driver")
	}
	seen := len(e.driver.Calls())
	e.drivers.setOff(false)
	if err := e.m.UnstageUnused(); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnstageVolume"}) {
		t.Fatalf("calls = %v", got)
	}
	if left, _ := mountsUnder(filepath.Dir(e.root)); len(left) != 0 {
		t.Errorf("mounts left: %v", left)
	}
	if got := readFile(t, filepath.Join(e.driver.VolumeDir("vol1"), "keep")); got != "me" {
		t.Errorf("data = %q", got)
	}
}

// TestCSIWithoutStaging: a driver without STAGE_UNSTAGE_VOLUME is only
// published and unpublished.
func TestCSIWithoutStaging(t *testing.T) {
	e := newCSIEnv(t, csidriver.Config{NoStage: true})
	e.claimFor(t, "data", csiVolume("pv1", "vol1", corev1.ReadWriteOnce))
	seen := 0
	setup(t, e.m, testPod("uid-n", claimVol("data", "data", false)))
	calls := e.calls(&seen)
	if got := methods(calls); !slices.Equal(got, []string{"NodePublishVolume"}) {
		t.Fatalf("calls = %v", got)
	}
	if p := calls[0].Request.(*csipb.NodePublishVolumeRequest); p.StagingTargetPath != "" {
		t.Errorf("publish without staging got staging path %q", p.StagingTargetPath)
	}
	if err := e.m.Teardown("uid-n"); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.calls(&seen)); !slices.Equal(got, []string{"NodeUnpublishVolume"}) {
		t.Fatalf("teardown calls = %v", got)
	}
	assertNotExist(t, filepath.Join(filepath.Dir(e.root), "plugins"))
}

func TestCSIAccessMode(t *testing.T) {
	for _, tc := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		multi bool
		want  csipb.VolumeCapability_AccessMode_Mode
	}{
		{corev1.ReadWriteOnce, false, csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		{corev1.ReadWriteOnce, true, csipb.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER},
		{corev1.ReadWriteOncePod, false, csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		{corev1.ReadWriteOncePod, true, csipb.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER},
		{corev1.ReadOnlyMany, false, csipb.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY},
		{corev1.ReadWriteMany, true, csipb.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER},
	} {
		if got := csiAccessMode(tc.mode, tc.multi); got != tc.want {
			t.Errorf("csiAccessMode(%s, %v) = %v, want %v", tc.mode, tc.multi, got, tc.want)
		}
	}
}
