package volume

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func hostPathVol(name, path string, typ corev1.HostPathType) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &typ}}}
}

// hostFixture makes a dir, a regular file, a symlink to the dir and a
// listening unix socket under a temp dir.
func hostFixture(t *testing.T) (host, dir, regular, sock string) {
	host = t.TempDir()
	dir, regular, sock = filepath.Join(host, "dir"), filepath.Join(host, "file"), filepath.Join(host, "s.sock")
	for _, err := range []error{
		os.Mkdir(dir, 0o755),
		os.WriteFile(regular, nil, 0o600),
		os.Symlink(dir, filepath.Join(host, "dirlink")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return host, dir, regular, sock
}

func TestHostPathTypes(t *testing.T) {
	host, dir, regular, sock := hostFixture(t)
	tests := []struct {
		path    string
		typ     corev1.HostPathType
		wantErr string
		check   func(t *testing.T)
	}{
		{path: filepath.Join(host, "missing"), typ: corev1.HostPathUnset},
		{path: dir, typ: corev1.HostPathDirectory},
		{path: filepath.Join(host, "dirlink"), typ: corev1.HostPathDirectory},
		{path: regular, typ: corev1.HostPathDirectory, wantErr: "is not a directory"},
		{path: filepath.Join(host, "missing"), typ: corev1.HostPathDirectory, wantErr: "is not a directory"},
		{path: filepath.Join(host, "new", "sub"), typ: corev1.HostPathDirectoryOrCreate, check: func(t *testing.T) {
			if fi, err := os.Stat(filepath.Join(host, "new", "sub")); err != nil || !fi.IsDir() {
				t.Errorf("DirectoryOrCreate did not create the directory: %v", err)
			}
		}},
		{path: regular, typ: corev1.HostPathDirectoryOrCreate, wantErr: "is not a directory"},
		{path: regular, typ: corev1.HostPathFile},
		{path: dir, typ: corev1.HostPathFile, wantErr: "is not a file"},
		{path: filepath.Join(host, "newfile"), typ: corev1.HostPathFileOrCreate, check: func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(host, "newfile"))
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644&^umask() {
				t.Errorf("FileOrCreate: %v %v", fi, err)
			}
		}},
		{path: filepath.Join(host, "nodir", "f"), typ: corev1.HostPathFileOrCreate, wantErr: "no such file"},
		{path: dir, typ: corev1.HostPathFileOrCreate, wantErr: "is not a file"},
		{path: sock, typ: corev1.HostPathSocket},
		{path: regular, typ: corev1.HostPathSocket, wantErr: "is not a socket file"},
		{path: "/dev/null", typ: corev1.HostPathCharDev},
		{path: regular, typ: corev1.HostPathCharDev, wantErr: "is not a character device"},
		{path: "/dev/null", typ: corev1.HostPathBlockDev, wantErr: "is not a block device"},
		{path: dir, typ: "Weird", wantErr: "Weird is an invalid volume type"},
		{path: "relative/path", typ: corev1.HostPathUnset, wantErr: "must be an absolute path"},
		{path: host + "/../etc", typ: corev1.HostPathUnset, wantErr: "must not contain '..'"},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ)+" "+strings.TrimPrefix(tc.path, host), func(t *testing.T) {
			m, _, _ := newTestManager(t)
			pod := testPod("uid-hp", hostPathVol("h", tc.path, tc.typ))
			vols, err := m.Setup(t.Context(), pod)
			if tc.wantErr != "" {
				var me *MountError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &me) || me.Volume != "h" {
					t.Fatalf("err = %v, want MountError containing %q", err, tc.wantErr)
				}
				if _, ok := vols["h"]; ok {
					t.Error("a failed volume must not be returned")
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if got := vols["h"]; got.HostPath != tc.path || got.ReadOnly {
				t.Errorf("volume = %+v", got)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

func umask() os.FileMode {
	dir, err := os.MkdirTemp("", "umask")
	if err != nil {
		return 0
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	if err != nil {
		return 0
	}
	f.Close()
	fi, _ := os.Stat(p)
	return 0o777 &^ fi.Mode().Perm()
}
