package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

func (o *op) setupHostPath(v *corev1.Volume, ps *podState) (Volume, error) {
	src := v.HostPath
	vol := Volume{HostPath: src.Path}
	if ps.ready[v.Name] {
		return vol, nil
	}
	if err := checkHostPath(src); err != nil {
		return Volume{}, err
	}
	ps.ready[v.Name] = true
	return vol, nil
}

// checkHostPath checks a hostPath source: an absolute path without "..",
// of its type.
func checkHostPath(src *corev1.HostPathVolumeSource) error {
	if !filepath.IsAbs(src.Path) {
		return fmt.Errorf("hostPath %q must be an absolute path", src.Path)
	}
	for _, elem := range strings.Split(src.Path, "/") {
		if elem == ".." {
			return fmt.Errorf("hostPath %q must not contain '..'", src.Path)
		}
	}
	typ := corev1.HostPathUnset
	if src.Type != nil {
		typ = *src.Type
	}
	return checkHostPathType(src.Path, typ)
}

// checkHostPathType applies a hostPath volume's type: the *OrCreate types
// create a missing directory (with parents, 0755) or file (0644, parents
// must exist); the others require an existing object of that kind
// (symlinks followed); "" checks nothing.
func checkHostPathType(path string, typ corev1.HostPathType) error {
	fi, statErr := os.Stat(path)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("hostPath type check failed: %w", statErr)
	}
	mode := os.FileMode(0)
	if exists {
		mode = fi.Mode()
	}
	var want string
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory:
		if !exists && typ == corev1.HostPathDirectoryOrCreate {
			return mkdirHostPath(path)
		}
		if exists && mode.IsDir() {
			return nil
		}
		want = "a directory"
	case corev1.HostPathFileOrCreate, corev1.HostPathFile:
		if !exists && typ == corev1.HostPathFileOrCreate {
			return createHostFile(path)
		}
		if exists && mode.IsRegular() {
			return nil
		}
		want = "a file"
	case corev1.HostPathSocket:
		if exists && mode&fs.ModeSocket != 0 {
			return nil
		}
		want = "a socket file"
	case corev1.HostPathCharDev:
		if exists && mode&fs.ModeCharDevice != 0 {
			return nil
		}
		want = "a character device"
	case corev1.HostPathBlockDev:
		if exists && mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0 {
			return nil
		}
		want = "a block device"
	default:
		return fmt.Errorf("%s is an invalid volume type", typ)
	}
	return fmt.Errorf("hostPath type check failed: %s is not %s", path, want)
}

func mkdirHostPath(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("hostPath: creating directory: %w", err)
	}
	return nil
}

func createHostFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return fmt.Errorf("hostPath: creating file: %w", err)
	}
	return f.Close()
}
