package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/controller/volume/localpath"
)

// localPathPerm is the mode of a local-path volume's directory: anyone
// may write, as with rancher.io/local-path, so pods running as any user
// can use it.
const localPathPerm os.FileMode = 0o777

// setupLocal bind-mounts a local volume's directory at
// <pod>/volumes/kubernetes.io~local-volume/<volume>, read-only when the
// pod asks so, creating the directory first for a local-path volume.
func (o *op) setupLocal(v *corev1.Volume, pv *corev1.PersistentVolume, readOnly bool) (Volume, error) {
	src := pv.Spec.Local.Path
	if err := o.ensureLocalDir(pv); err != nil {
		return Volume{}, err
	}
	target := o.volumeDir(pluginLocal, v.Name)
	if _, err := ensureDir(target, 0o750); err != nil {
		return Volume{}, err
	}
	mounted, _, err := o.mountPointType(target)
	if err != nil {
		return Volume{}, err
	}
	if !mounted {
		if err := bindMount(src, target, readOnly); err != nil {
			return Volume{}, err
		}
	}
	return Volume{HostPath: target, ReadOnly: readOnly}, nil
}

// ensureLocalDir checks that a local volume's directory exists. A
// local-path volume's directory is created when missing (inside the
// storage root only); any other volume's must exist already.
func (o *op) ensureLocalDir(pv *corev1.PersistentVolume) error {
	path := pv.Spec.Local.Path
	if !filepath.IsAbs(path) {
		return fmt.Errorf("local volume path %q must be an absolute path", path)
	}
	fi, err := os.Stat(path)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("local volume path %q is not a directory", path)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local volume path: %w", err)
	}
	if !localpath.IsProvisioned(pv) {
		return fmt.Errorf("path %q does not exist", path)
	}
	if err := os.MkdirAll(o.m.storageRoot(), 0o700); err != nil {
		return fmt.Errorf("creating storage root: %w", err)
	}
	dir, err := insideRoot(o.m.storageRoot(), path)
	if err != nil {
		return err
	}
	if err := mkdirExact(dir, localPathPerm); err != nil {
		return fmt.Errorf("local-path volume %s: %w", pv.Name, err)
	}
	if o.gid >= 0 {
		return applyGroup(dir, o.gid, os.ModeSetgid)
	}
	return nil
}

// insideRoot resolves path, which must name an entry directly inside the
// storage root (a local-path volume's directory), and returns it. The
// entry itself is not resolved: a symlink there is the entry.
func insideRoot(root, path string) (string, error) {
	clean := filepath.Clean(path)
	base := filepath.Base(clean)
	if !filepath.IsAbs(clean) || base == "." || base == ".." || base == "/" {
		return "", &outsideRootError{path: path, root: root}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("storage root: %w", err)
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(clean))
	if err != nil || parent != realRoot {
		return "", &outsideRootError{path: path, root: root}
	}
	return filepath.Join(realRoot, base), nil
}

// outsideRootError is a local-path volume path that is not a directory
// directly inside the storage root: the agent neither creates nor removes
// it.
type outsideRootError struct{ path, root string }

func (e *outsideRootError) Error() string {
	return fmt.Sprintf("local-path %q is not a directory in the storage root %s", e.path, e.root)
}

// StorageRootAnnotation is the Node annotation in which an agent
// publishes its storage root, where the local-path provisioner puts the
// node's volumes.
const StorageRootAnnotation = localpath.StorageRootAnnotation

// StorageRoot is the storage root of an agent with this data dir (and
// the Manager's default for a RootDir of <data dir>/pods).
func StorageRoot(dataDir string) string { return filepath.Join(dataDir, "storage") }
