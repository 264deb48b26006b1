package volume

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

func emptyDirVol(name string, medium corev1.StorageMedium, limit string) corev1.Volume {
	src := &corev1.EmptyDirVolumeSource{Medium: medium}
	if limit != "" {
		src.SizeLimit = ptr(resource.MustParse(limit))
	}
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: src}}
}

func TestEmptyDirDisk(t *testing.T) {
	m, _, root := newTestManager(t)
	pod := testPod("uid-ed", emptyDirVol("scratch", "", ""))
	vols := setup(t, m, pod)
	want := filepath.Join(root, "uid-ed", "volumes", "kubernetes.io~empty-dir", "scratch")
	if got := vols["scratch"]; got.HostPath != want || got.ReadOnly {
		t.Fatalf("volume = %+v, want %s read-write", got, want)
	}
	if mode := modeOf(t, want); mode != 0o777 {
		t.Errorf("mode = %v, want 0777", mode)
	}
	if mounted, _ := isMountPoint(t, want); mounted {
		t.Error("disk emptyDir must not be a mount")
	}
	if err := os.WriteFile(filepath.Join(want, "data"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	setup(t, m, pod) // idempotent: content survives
	if got := readFile(t, filepath.Join(want, "data")); got != "keep" {
		t.Errorf("content after second Setup = %q", got)
	}
}

func TestEmptyDirMemoryTmpfs(t *testing.T) {
	requireMounts(t)
	m, _, _ := newTestManager(t)
	pod := testPod("uid-mem", emptyDirVol("cache", corev1.StorageMediumMemory, "8Mi"))
	vols := setup(t, m, pod)
	dir := vols["cache"].HostPath
	mounted, fsType := isMountPoint(t, dir)
	if !mounted || fsType != "tmpfs" {
		t.Fatalf("%s: mounted=%v type=%q, want tmpfs", dir, mounted, fsType)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if size := int64(st.Blocks) * st.Bsize; size != 8<<20 {
		t.Errorf("tmpfs size = %d, want %d", size, 8<<20)
	}
	setup(t, m, pod) // idempotent: no second mount stacked on top
	n := 0
	mounts, _ := readMounts()
	for _, mt := range mounts {
		if mt.point == dir {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d mounts on %s after two Setups, want 1", n, dir)
	}
	if err := m.Teardown(pod.UID); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if mounted, _ := isMountPoint(t, dir); mounted {
		t.Error("tmpfs still mounted after Teardown")
	}
	assertNotExist(t, filepath.Dir(filepath.Dir(filepath.Dir(dir))))
}

func TestEmptyDirUnsupportedMedium(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod("uid-huge", emptyDirVol("huge", corev1.StorageMediumHugePages, ""))
	_, err := m.Setup(t.Context(), pod)
	if err == nil || !strings.Contains(err.Error(), `medium "HugePages" is not supported`) {
		t.Fatalf("err = %v", err)
	}
}

func TestTmpfsSize(t *testing.T) {
	limits := func(mem string) corev1.ResourceRequirements {
		if mem == "" {
			return corev1.ResourceRequirements{}
		}
		return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	always := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name      string
		regular   []string
		init      []string
		sidecar   []string
		podLimit  string
		sizeLimit string
		want      int64
	}{
		{name: "node allocatable only", regular: []string{""}, want: 1 << 30},
		{name: "pod limit below allocatable", regular: []string{"64Mi", "32Mi"}, want: 96 << 20},
		{name: "sizeLimit below pod limit", regular: []string{"64Mi"}, sizeLimit: "16Mi", want: 16 << 20},
		{name: "sizeLimit above pod limit", regular: []string{"64Mi"}, sizeLimit: "1Gi", want: 64 << 20},
		{name: "a container without limit", regular: []string{"64Mi", ""}, sizeLimit: "2Gi", want: 1 << 30},
		{name: "init container larger", regular: []string{"64Mi"}, init: []string{"128Mi"}, want: 128 << 20},
		{name: "sidecar adds", regular: []string{"64Mi"}, sidecar: []string{"16Mi"}, init: []string{"64Mi"}, want: 80 << 20},
		{name: "pod-level limit", regular: []string{""}, podLimit: "200Mi", want: 200 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTestManager(t)
			pod := testPod("uid-size")
			pod.Spec.Containers = nil
			for _, l := range tc.regular {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: limits(l)})
			}
			for _, l := range tc.sidecar {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: limits(l), RestartPolicy: &always})
			}
			for _, l := range tc.init {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: limits(l)})
			}
			if tc.podLimit != "" {
				r := limits(tc.podLimit)
				pod.Spec.Resources = &r
			}
			o, err := m.newOp(t.Context(), pod)
			if err != nil {
				t.Fatal(err)
			}
			var sl *resource.Quantity
			if tc.sizeLimit != "" {
				sl = ptr(resource.MustParse(tc.sizeLimit))
			}
			if got := o.tmpfsSize(sl); got != tc.want {
				t.Errorf("size = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEmptyDirUsage(t *testing.T) {
	m, _, _ := newTestManager(t)
	pod := testPod("uid-du", emptyDirVol("scratch", "", ""))
	dir := setup(t, m, pod)["scratch"].HostPath
	before, err := m.EmptyDirUsage(pod.UID, "scratch")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "big"), filepath.Join(dir, "big-link")); err != nil {
		t.Fatal(err)
	}
	after, err := m.EmptyDirUsage(pod.UID, "scratch")
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew < 1<<20 || grew > 1<<20+64<<10 {
		t.Errorf("usage grew by %d, want about 1MiB counted once", grew)
	}
	if _, err := m.EmptyDirUsage(types.UID("nope"), "scratch"); err == nil {
		t.Error("usage of a missing volume should fail")
	}
	if _, err := m.EmptyDirUsage(pod.UID, "../x"); err == nil {
		t.Error("a volume name with a slash should be refused")
	}
}

func TestEmptyDirFSGroup(t *testing.T) {
	requireMounts(t)
	m, _, _ := newTestManager(t)
	pod := testPod("uid-fsg", emptyDirVol("disk", "", ""), emptyDirVol("mem", corev1.StorageMediumMemory, "1Mi"))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(1234))}
	vols := setup(t, m, pod)
	for name, want := range map[string]os.FileMode{"disk": 0o777 | os.ModeSetgid, "mem": 0o777 | os.ModeSetgid | os.ModeSticky} {
		dir := vols[name].HostPath
		if got := modeOf(t, dir); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
		fi, _ := os.Stat(dir)
		if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 1234 {
			t.Errorf("%s: gid %d, want 1234", name, gid)
		}
	}
}
