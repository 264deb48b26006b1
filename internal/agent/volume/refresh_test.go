package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func updateConfigMap(t *testing.T, client *fake.Clientset, data map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "cfg"}, Data: data}
	if _, err := client.CoreV1().ConfigMaps(testNS).Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func dataTarget(t *testing.T, dir string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(target, "..20") {
		t.Errorf("..data -> %q, want a timestamped dir", target)
	}
	return target
}

// hiddenEntries lists the writer's own entries in dir.
func hiddenEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRefreshUpdatesAtomically(t *testing.T) {
	m, client, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-refresh", cmVol("v", "cfg", nil, nil, false),
		emptyDirVol("scratch", "", ""), hostPathVol("h", "/", corev1.HostPathDirectory))
	dir := setup(t, m, pod)["v"].HostPath
	first := dataTarget(t, dir)

	// Nothing changed: nothing is rewritten.
	changed, err := m.Refresh(t.Context(), pod)
	if err != nil || changed {
		t.Fatalf("Refresh unchanged = %v, %v; want false, nil", changed, err)
	}
	setup(t, m, pod)
	if got := dataTarget(t, dir); got != first {
		t.Errorf("unchanged content was rewritten: %s -> %s", first, got)
	}

	// Keep the old file open: a reader holding it keeps the old content.
	old, err := os.Open(filepath.Join(dir, "mode"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

	updateConfigMap(t, client, map[string]string{"mode": "staging", "new.key": "n"})
	changed, err = m.Refresh(t.Context(), pod)
	if err != nil || !changed {
		t.Fatalf("Refresh after update = %v, %v; want true, nil", changed, err)
	}
	second := dataTarget(t, dir)
	if second == first {
		t.Fatal("..data still points to the old dir")
	}
	want := map[string]string{"mode": "-rw-r--r-- staging", "new.key": "-rw-r--r-- n"}
	if diff := cmp.Diff(want, volumeFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// Removed keys lose their link; the old dir is gone; no temp link left.
	assertNotExist(t, filepath.Join(dir, "app.conf"))
	assertNotExist(t, filepath.Join(dir, first))
	if diff := cmp.Diff([]string{second, dataDirName}, hiddenEntries(t, dir)); diff != "" {
		t.Errorf("writer entries (-want +got):\n%s", diff)
	}
	buf := make([]byte, 16)
	n, _ := old.Read(buf)
	if string(buf[:n]) != "prod" {
		t.Errorf("open reader sees %q, want the old content", buf[:n])
	}
}

func TestRefreshModeOnlyChange(t *testing.T) {
	m, _, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-mode", cmVol("v", "cfg", []corev1.KeyToPath{{Key: "mode", Path: "m"}}, ptr(int32(0o644)), false))
	dir := setup(t, m, pod)["v"].HostPath
	pod.Spec.Volumes[0].ConfigMap.DefaultMode = ptr(int32(0o600))
	changed, err := m.Refresh(t.Context(), pod)
	if err != nil || !changed {
		t.Fatalf("Refresh = %v, %v; want a rewrite for a mode change", changed, err)
	}
	if mode := modeOf(t, filepath.Join(dir, "m")); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
}

func TestRefreshKeepsContentWhenSourceGone(t *testing.T) {
	m, client, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-gone", cmVol("v", "cfg", nil, nil, false), cmVol("opt", "cfg", nil, nil, true))
	vols := setup(t, m, pod)
	if err := client.CoreV1().ConfigMaps(testNS).Delete(t.Context(), "cfg", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	changed, err := m.Refresh(t.Context(), pod)
	if err == nil || !strings.Contains(err.Error(), `configmap "cfg" not found`) {
		t.Fatalf("err = %v", err)
	}
	if mes := MountErrors(err); len(mes) != 1 || mes[0].Volume != "v" {
		t.Errorf("MountErrors = %v, want only the required volume", mes)
	}
	if !changed {
		t.Error("the optional volume should have been emptied (changed)")
	}
	if got := readFile(t, filepath.Join(vols["v"].HostPath, "mode")); got != "prod" {
		t.Errorf("required volume content = %q, want kept", got)
	}
	if diff := cmp.Diff(map[string]string{}, volumeFiles(t, vols["opt"].HostPath)); diff != "" {
		t.Errorf("optional volume (-want +got):\n%s", diff)
	}
}

func TestRefreshSecretAndDownwardAPI(t *testing.T) {
	requireMounts(t)
	m, client, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-rs", secretVol("s", "sec", nil, nil, false), corev1.Volume{Name: "d",
		VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}})
	vols := setup(t, m, pod)
	sec, _ := client.CoreV1().Secrets(testNS).Get(t.Context(), "sec", metav1.GetOptions{})
	sec.Data["token"] = []byte("rotated")
	if _, err := client.CoreV1().Secrets(testNS).Update(t.Context(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Labels["tier"] = "back"
	changed, err := m.Refresh(t.Context(), pod)
	if err != nil || !changed {
		t.Fatalf("Refresh = %v, %v", changed, err)
	}
	if got := readFile(t, filepath.Join(vols["s"].HostPath, "token")); got != "rotated" {
		t.Errorf("token = %q", got)
	}
	if got := readFile(t, filepath.Join(vols["d"].HostPath, "labels")); got != "app=\"web\"\ntier=\"back\"" {
		t.Errorf("labels = %q", got)
	}
	if mounted, _ := isMountPoint(t, vols["s"].HostPath); !mounted {
		t.Error("secret tmpfs gone after Refresh")
	}
	if err := m.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
}

func TestWriterRecoversFromLeftovers(t *testing.T) {
	m, client, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-left", cmVol("v", "cfg", nil, nil, false))
	dir := setup(t, m, pod)["v"].HostPath
	// A crash mid-write leaves a half-written timestamped dir and ..data_tmp.
	stray := filepath.Join(dir, "..2020_01_01_00_00_00.123")
	if err := os.Mkdir(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(stray), filepath.Join(dir, newDataDirName)); err != nil {
		t.Fatal(err)
	}
	updateConfigMap(t, client, map[string]string{"mode": "v2"})
	if _, err := m.Refresh(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	if got := hiddenEntries(t, dir); len(got) != 2 {
		t.Errorf("writer entries %v, want ..data and one timestamped dir", got)
	}
	if got := readFile(t, filepath.Join(dir, "mode")); got != "v2" {
		t.Errorf("mode = %q", got)
	}
}

func TestRefreshDoesNotCreate(t *testing.T) {
	m, client, root := newTestManager(t, testObjects()...)
	pod := testPod("uid-never", cmVol("v", "cfg", nil, nil, false), secretVol("s", "sec", nil, nil, false))
	changed, err := m.Refresh(t.Context(), pod)
	if err != nil || changed {
		t.Fatalf("Refresh of a pod never set up = %v, %v", changed, err)
	}
	assertNotExist(t, filepath.Join(root, "uid-never"))
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			t.Errorf("unexpected API call %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}
