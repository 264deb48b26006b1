package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type mountCase struct {
	name    string
	vm      corev1.VolumeMount
	priv    bool
	want    *criv1.Mount
	wantErr string
}

// mountFixture sets up a pod with an emptyDir (holding an escaping symlink,
// an inner symlink, a dangling one and a file) and a configMap volume.
func mountFixture(t *testing.T) (*corev1.Pod, Volumes, string, string) {
	m, _, _ := newTestManager(t, testObjects()...)
	pod := testPod("uid-mounts", emptyDirVol("scratch", "", ""), cmVol("cfg", "cfg", nil, nil, false))
	vols := setup(t, m, pod)
	scratch := vols["scratch"].HostPath
	for _, step := range []error{
		os.Symlink("/etc", filepath.Join(scratch, "evil")),
		os.Mkdir(filepath.Join(scratch, "inside"), 0o755),
		os.Symlink("inside", filepath.Join(scratch, "ok-link")),
		os.Symlink("nowhere", filepath.Join(scratch, "dangling")),
		os.WriteFile(filepath.Join(scratch, "plain"), nil, 0o644),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return pod, vols, scratch, vols["cfg"].HostPath
}

func runMountCases(t *testing.T, pod *corev1.Pod, vols Volumes, cases []mountCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{tc.vm}, Env: []corev1.EnvVar{
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "UP", Value: ".."},
			}}
			if tc.priv {
				c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
			}
			got, err := ContainerMounts(pod, c, vols)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !mountEqual(got[0], tc.want) {
				t.Errorf("mounts = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContainerMountsSubPath(t *testing.T) {
	pod, vols, scratch, cfg := mountFixture(t)
	runMountCases(t, pod, vols, []mountCase{
		{name: "subPath created", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/logs", SubPath: "a/b"},
			want: &criv1.Mount{ContainerPath: "/logs", HostPath: filepath.Join(scratch, "a", "b")}},
		{name: "subPath to a configMap key", vm: corev1.VolumeMount{Name: "cfg", MountPath: "/etc/mode", SubPath: "mode"},
			want: &criv1.Mount{ContainerPath: "/etc/mode", HostPath: filepath.Join(cfg, dataTarget(t, cfg), "mode"), Readonly: true}},
		{name: "subPath existing file", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/p", SubPath: "plain"},
			want: &criv1.Mount{ContainerPath: "/p", HostPath: filepath.Join(scratch, "plain")}},
		{name: "subPath through an inner symlink", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "ok-link/z"},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: filepath.Join(scratch, "inside", "z")}},
		{name: "subPath dangling symlink", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "dangling"},
			wantErr: "following symlink"},
		{name: "subPath absolute", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "/etc"},
			wantErr: "must not be an absolute path"},
		{name: "subPath backsteps", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "a/../../etc"},
			wantErr: "must not contain '..'"},
		{name: "subPath symlink escape", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "evil"},
			wantErr: "escapes the volume"},
		{name: "subPath below a symlink escape", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "evil/passwd"},
			wantErr: "escapes the volume"},
		{name: "subPath under a file", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPath: "plain/x"},
			wantErr: "not a directory"},
		{name: "subPathExpr", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPathExpr: "pods/$(POD_NAME)"},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: filepath.Join(scratch, "pods", "web-0")}},
		{name: "subPathExpr missing variable", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPathExpr: "$(NOPE)/$(POD_NAME)"},
			wantErr: "missing value for NOPE"},
		{name: "subPathExpr expanding to backsteps", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", SubPathExpr: "$(UP)/etc"},
			wantErr: "must not contain '..'"},
	})
	if fi, err := os.Stat(filepath.Join(scratch, "a", "b")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("subPath dir: %v %v, want mode 0777 like the volume", fi, err)
	}
}

func TestContainerMountsOptions(t *testing.T) {
	pod, vols, scratch, cfg := mountFixture(t)
	hostToContainer := corev1.MountPropagationHostToContainer
	bidi := corev1.MountPropagationBidirectional
	rro := corev1.RecursiveReadOnlyEnabled
	runMountCases(t, pod, vols, []mountCase{
		{name: "plain", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/data"},
			want: &criv1.Mount{ContainerPath: "/data", HostPath: scratch}},
		{name: "readOnly mount", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/data", ReadOnly: true},
			want: &criv1.Mount{ContainerPath: "/data", HostPath: scratch, Readonly: true}},
		{name: "read-only volume", vm: corev1.VolumeMount{Name: "cfg", MountPath: "/etc/app"},
			want: &criv1.Mount{ContainerPath: "/etc/app", HostPath: cfg, Readonly: true}},
		{name: "unknown volume", vm: corev1.VolumeMount{Name: "ghost", MountPath: "/x"},
			wantErr: `cannot find volume "ghost" to mount into container "app"`},
		{name: "relative mountPath", vm: corev1.VolumeMount{Name: "scratch", MountPath: "x"},
			wantErr: "must be an absolute path"},
		{name: "HostToContainer", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", MountPropagation: &hostToContainer},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: scratch, Propagation: criv1.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}},
		{name: "Bidirectional privileged", priv: true, vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", MountPropagation: &bidi},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: scratch, Propagation: criv1.MountPropagation_PROPAGATION_BIDIRECTIONAL}},
		{name: "Bidirectional unprivileged", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", MountPropagation: &bidi},
			wantErr: "only to privileged containers"},
		{name: "bad propagation", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", MountPropagation: ptr(corev1.MountPropagationMode("Sideways"))},
			wantErr: "invalid MountPropagation mode"},
		{name: "recursive read-only", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", ReadOnly: true, RecursiveReadOnly: &rro},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: scratch, Readonly: true, RecursiveReadOnly: true}},
		{name: "recursive read-only needs readOnly", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", RecursiveReadOnly: &rro},
			wantErr: "requires readOnly"},
		{name: "bind mount options", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", BindMountOptions: []string{"noexec", "nosuid"}},
			want: &criv1.Mount{ContainerPath: "/x", HostPath: scratch, MountOptions: []string{"noexec", "nosuid"}}},
		{name: "bad bind mount option", vm: corev1.VolumeMount{Name: "scratch", MountPath: "/x", BindMountOptions: []string{"exec"}},
			wantErr: `unsupported bindMountOption "exec"`},
	})
}

func mountEqual(a, b *criv1.Mount) bool {
	return a.ContainerPath == b.ContainerPath && a.HostPath == b.HostPath && a.Readonly == b.Readonly &&
		a.Propagation == b.Propagation && a.RecursiveReadOnly == b.RecursiveReadOnly &&
		strings.Join(a.MountOptions, ",") == strings.Join(b.MountOptions, ",")
}

func TestContainerMountsWithEnv(t *testing.T) {
	dir := t.TempDir()
	vols := Volumes{"v": {HostPath: dir}}
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "v", MountPath: "/a", SubPathExpr: "$(FROM_SECRET)"},
		{Name: "v", MountPath: "/b"},
	}}
	env := []*criv1.KeyValue{{Key: "FROM_SECRET", Value: []byte("s3")}}
	got, err := ContainerMountsWithEnv(testPod("uid-env"), c, vols, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].HostPath != filepath.Join(dir, "s3") || got[1].HostPath != dir {
		t.Errorf("mounts = %v", got)
	}
}
