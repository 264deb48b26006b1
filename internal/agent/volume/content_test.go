package volume

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func testObjects() []runtime.Object {
	return []runtime.Object{
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "cfg"},
			Data:       map[string]string{"app.conf": "port=80\n", "mode": "prod"},
			BinaryData: map[string][]byte{"blob": {0, 1, 2}},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "sec"},
			Data:       map[string][]byte{"password": []byte("hunter2"), "token": []byte("t0k")},
		},
	}
}

func cmVol(name, cm string, items []corev1.KeyToPath, defaultMode *int32, optional bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: cm},
		Items:                items, DefaultMode: defaultMode, Optional: &optional}}}
}

func secretVol(name, secret string, items []corev1.KeyToPath, defaultMode *int32, optional bool) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: secret, Items: items, DefaultMode: defaultMode, Optional: &optional}}}
}

// volumeFiles lists a content volume as user-visible path -> "mode content",
// following the links, skipping the writer's ".." entries.
func volumeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		if e.Type()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink", e.Name())
		}
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		if target != "..data/"+e.Name() {
			t.Errorf("%s -> %s, want ..data/%s", e.Name(), target, e.Name())
		}
		collect(t, dir, e.Name(), out)
	}
	return out
}

func collect(t *testing.T, dir, rel string, out map[string]string) {
	path := filepath.Join(dir, rel)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		entries, _ := os.ReadDir(path)
		for _, e := range entries {
			collect(t, dir, rel+"/"+e.Name(), out)
		}
		return
	}
	out[rel] = fi.Mode().Perm().String() + " " + readFile(t, path)
}

func TestConfigMapVolume(t *testing.T) {
	tests := []struct {
		name    string
		vol     corev1.Volume
		want    map[string]string
		wantErr string
	}{
		{name: "all keys with default mode",
			vol: cmVol("v", "cfg", nil, nil, false),
			want: map[string]string{"app.conf": "-rw-r--r-- port=80\n", "mode": "-rw-r--r-- prod",
				"blob": "-rw-r--r-- \x00\x01\x02"}},
		{name: "defaultMode",
			vol:  cmVol("v", "cfg", []corev1.KeyToPath{{Key: "mode", Path: "m"}}, ptr(int32(0o400)), false),
			want: map[string]string{"m": "-r-------- prod"}},
		{name: "items with paths and modes",
			vol: cmVol("v", "cfg", []corev1.KeyToPath{
				{Key: "app.conf", Path: "etc/app/app.conf", Mode: ptr(int32(0o600))},
				{Key: "mode", Path: "mode.txt"},
			}, nil, false),
			want: map[string]string{"etc/app/app.conf": "-rw------- port=80\n", "mode.txt": "-rw-r--r-- prod"}},
		{name: "missing key",
			vol:     cmVol("v", "cfg", []corev1.KeyToPath{{Key: "nope", Path: "x"}}, nil, false),
			wantErr: "configmap references non-existent config key: nope"},
		{name: "missing key optional",
			vol:  cmVol("v", "cfg", []corev1.KeyToPath{{Key: "nope", Path: "x"}, {Key: "mode", Path: "m"}}, nil, true),
			want: map[string]string{"m": "-rw-r--r-- prod"}},
		{name: "missing configmap",
			vol:     cmVol("v", "x", nil, nil, false),
			wantErr: `MountVolume.SetUp failed for volume "v" : configmap "x" not found`},
		{name: "missing configmap optional",
			vol:  cmVol("v", "x", nil, nil, true),
			want: map[string]string{}},
		{name: "bad item path",
			vol:     cmVol("v", "cfg", []corev1.KeyToPath{{Key: "mode", Path: "../escape"}}, nil, false),
			wantErr: "must not contain '..'"},
		{name: "reserved item path",
			vol:     cmVol("v", "cfg", []corev1.KeyToPath{{Key: "mode", Path: "..data"}}, nil, false),
			wantErr: "must not start with '..'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, root := newTestManager(t, testObjects()...)
			pod := testPod("uid-cm", tc.vol)
			vols, err := m.Setup(t.Context(), pod)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				assertNotExist(t, filepath.Join(root, "uid-cm", "volumes", "kubernetes.io~configmap", "v"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := vols["v"]
			if want := filepath.Join(root, "uid-cm", "volumes", "kubernetes.io~configmap", "v"); v.HostPath != want || !v.ReadOnly {
				t.Fatalf("volume = %+v, want read-only %s", v, want)
			}
			if mode := modeOf(t, v.HostPath); mode != 0o777 {
				t.Errorf("volume dir mode %v, want 0777", mode)
			}
			if mounted, _ := isMountPoint(t, v.HostPath); mounted {
				t.Error("configMap volumes live on disk, not tmpfs")
			}
			if diff := cmp.Diff(tc.want, volumeFiles(t, v.HostPath)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingConfigMapIsNotFound(t *testing.T) {
	m, _, _ := newTestManager(t)
	_, err := m.Setup(t.Context(), testPod("uid-nf", cmVol("v", "x", nil, nil, false)))
	if !apierrors.IsNotFound(err) {
		t.Errorf("err = %v, want IsNotFound", err)
	}
	mes := MountErrors(err)
	if len(mes) != 1 || mes[0].Volume != "v" || mes[0].Err.Error() != `configmap "x" not found` {
		t.Errorf("MountErrors = %v", mes)
	}
}

func TestSecretVolumeOnTmpfs(t *testing.T) {
	requireMounts(t)
	m, _, root := newTestManager(t, testObjects()...)
	pod := testPod("uid-sec", secretVol("creds", "sec", nil, ptr(int32(0o400)), false),
		secretVol("one", "sec", []corev1.KeyToPath{{Key: "token", Path: "tok", Mode: ptr(int32(0o440))}}, nil, false))
	vols := setup(t, m, pod)
	dir := vols["creds"].HostPath
	if want := filepath.Join(root, "uid-sec", "volumes", "kubernetes.io~secret", "creds"); dir != want || !vols["creds"].ReadOnly {
		t.Fatalf("volume = %+v", vols["creds"])
	}
	if mounted, fsType := isMountPoint(t, dir); !mounted || fsType != "tmpfs" {
		t.Fatalf("secret volume not on tmpfs (mounted=%v type=%q)", mounted, fsType)
	}
	if mode := modeOf(t, dir); mode != 0o777|os.ModeSticky {
		t.Errorf("tmpfs root mode %v, want 1777", mode)
	}
	want := map[string]string{"password": "-r-------- hunter2", "token": "-r-------- t0k"}
	if diff := cmp.Diff(want, volumeFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"tok": "-r--r----- t0k"}, volumeFiles(t, vols["one"].HostPath)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}

	_, err := m.Setup(t.Context(), testPod("uid-sec2", secretVol("creds", "gone", nil, nil, false)))
	if err == nil || !strings.Contains(err.Error(), `secret "gone" not found`) {
		t.Errorf("missing secret: err = %v", err)
	}
	_, err = m.Setup(t.Context(), testPod("uid-sec3", secretVol("creds", "sec", []corev1.KeyToPath{{Key: "k", Path: "k"}}, nil, false)))
	if err == nil || !strings.Contains(err.Error(), "references non-existent secret key: k") {
		t.Errorf("missing secret key: err = %v", err)
	}

	if err := m.Teardown(pod.UID); err != nil {
		t.Fatal(err)
	}
	if mounted, _ := isMountPoint(t, dir); mounted {
		t.Error("secret tmpfs still mounted after Teardown")
	}
	assertNotExist(t, filepath.Join(root, "uid-sec"))
}

func TestDownwardAPIVolume(t *testing.T) {
	requireMounts(t)
	m, _, _ := newTestManager(t)
	pod := testPod("uid-dapi", corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}},
			{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
			{Path: "uid", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: ptr(int32(0o600))},
			{Path: "meta/annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
			{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
			{Path: "mem_mi", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory",
				Divisor: resource.MustParse("1Mi")}},
			{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
			{Path: "cpu_req_m", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "requests.cpu",
				Divisor: resource.MustParse("1m")}},
		}}}})
	vols := setup(t, m, pod)
	dir := vols["info"].HostPath
	if !strings.Contains(dir, "kubernetes.io~downward-api") || !vols["info"].ReadOnly {
		t.Errorf("volume = %+v", vols["info"])
	}
	if mounted, fsType := isMountPoint(t, dir); !mounted || fsType != "tmpfs" {
		t.Errorf("downwardAPI volume not on tmpfs")
	}
	want := map[string]string{
		"name": "-rw-r--r-- web-0", "ns": "-rw-r--r-- ns1", "uid": "-rw-r--r-- uid-dapi",
		"labels":           "-rw------- app=\"web\"\ntier=\"front\"",
		"meta/annotations": "-rw-r--r-- note=\"hello\"",
		"app":              "-rw-r--r-- web",
		"mem_mi":           "-rw-r--r-- 64",
		"cpu_limit":        "-rw-r--r-- 2", // unset limit: node allocatable
		"cpu_req_m":        "-rw-r--r-- 250",
	}
	if diff := cmp.Diff(want, volumeFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestDownwardAPIErrors(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod("uid-dapi-err", corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "bad", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}},
			{Path: "ghost", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "ghost", Resource: "limits.cpu"}},
		}}}})
	_, err := m.Setup(t.Context(), pod)
	if err == nil || !strings.Contains(err.Error(), "unsupported fieldPath: status.podIP") ||
		!strings.Contains(err.Error(), "container ghost not found") {
		t.Errorf("err = %v, want both item errors", err)
	}
}

func TestProjectedVolume(t *testing.T) {
	requireMounts(t)
	m, _, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-proj", corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptr(int32(0o440)), Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items: []corev1.KeyToPath{{Key: "mode", Path: "config/mode"}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"},
				Items: []corev1.KeyToPath{{Key: "token", Path: "token", Mode: ptr(int32(0o400))}}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr(true)}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "podname", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "sa-token"}},
		}}}})
	vols := setup(t, m, pod)
	dir := vols["all"].HostPath
	if mounted, fsType := isMountPoint(t, dir); !mounted || fsType != "tmpfs" || !strings.Contains(dir, "kubernetes.io~projected") {
		t.Errorf("projected volume %s not on tmpfs", dir)
	}
	want := map[string]string{"config/mode": "-r--r----- prod", "token": "-r-------- t0k", "podname": "-r--r----- web-0"}
	if diff := cmp.Diff(want, volumeFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	bad := testPod("uid-proj2", corev1.Volume{Name: "all", VolumeSource: corev1.VolumeSource{
		Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "y"}}},
		}}}})
	_, err := m.Setup(t.Context(), bad)
	if err == nil || !strings.Contains(err.Error(), `configmap "x" not found`) || !strings.Contains(err.Error(), `secret "y" not found`) {
		t.Errorf("err = %v, want both missing sources", err)
	}
}

func TestContentFSGroup(t *testing.T) {
	m, _, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-cm-fsg", cmVol("v", "cfg", []corev1.KeyToPath{
		{Key: "mode", Path: "sub/m", Mode: ptr(int32(0o400))}}, nil, false))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(4321))}
	dir := setup(t, m, pod)["v"].HostPath
	if diff := cmp.Diff(map[string]string{"sub/m": "-r--r----- prod"}, volumeFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, p := range []string{"sub/m", "sub", ".", dataDirName} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 4321 {
			t.Errorf("%s: gid %d, want 4321", p, gid)
		}
		if fi.IsDir() && fi.Mode()&os.ModeSetgid == 0 {
			t.Errorf("%s: directory without setgid", p)
		}
	}
}

func TestUnsupportedVolumesAndJoinedErrors(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod("uid-unsup",
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pvc-1"}}},
		corev1.Volume{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
		emptyDirVol("ok", "", ""),
	)
	vols, err := m.Setup(t.Context(), pod)
	mes := MountErrors(err)
	var names []string
	for _, me := range mes {
		names = append(names, me.Volume)
	}
	sort.Strings(names)
	if !cmp.Equal(names, []string{"data", "nfs"}) {
		t.Fatalf("failed volumes %v (err %v)", names, err)
	}
	if !strings.Contains(err.Error(), `error processing PVC ns1/pvc-1: failed to fetch PVC from API server`) {
		t.Errorf("err = %v", err)
	}
	if _, ok := vols["ok"]; !ok || len(vols) != 1 {
		t.Errorf("volumes = %v, want only the emptyDir", vols)
	}
	if !errors.As(err, new(*MountError)) {
		t.Error("errors.As MountError failed")
	}
}
