package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// emptyDirPerm is the mode of a disk-backed emptyDir (a fresh tmpfs is
// 1777 and is left so, as with the kubelet).
const emptyDirPerm os.FileMode = 0o777

func (o *op) setupEmptyDir(v *corev1.Volume, ps *podState) (Volume, error) {
	dir := o.volumeDir(pluginEmptyDir, v.Name)
	if ps.ready[v.Name] {
		return Volume{HostPath: dir}, nil
	}
	var created bool
	var err error
	switch medium := v.EmptyDir.Medium; medium {
	case corev1.StorageMediumDefault:
		created, err = ensureDir(dir, emptyDirPerm)
	case corev1.StorageMediumMemory:
		created, err = o.ensureTmpfs(dir, v.EmptyDir.SizeLimit)
	default:
		err = fmt.Errorf("emptyDir medium %q is not supported", medium)
	}
	if err != nil {
		return Volume{}, err
	}
	if created && o.gid >= 0 {
		// fsGroup: the group owns the volume, can write it, and new files
		// inherit the group (setgid).
		if err := applyGroup(dir, o.gid, 0o770|os.ModeSetgid); err != nil {
			return Volume{}, err
		}
	}
	ps.ready[v.Name] = true
	return Volume{HostPath: dir}, nil
}

// ensureDir creates dir (and its parents, 0750) with mode perm, reporting
// whether it was created. An existing dir is left as it is.
func ensureDir(dir string, perm os.FileMode) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return false, fmt.Errorf("creating volume dir: %w", err)
	}
	err := os.Mkdir(dir, perm)
	if errors.Is(err, fs.ErrExist) {
		fi, err := os.Lstat(dir)
		if err != nil {
			return false, fmt.Errorf("volume dir: %w", err)
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("volume dir %s is not a directory", dir)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating volume dir: %w", err)
	}
	// Mkdir honours the umask; set the exact mode.
	if err := os.Chmod(dir, perm); err != nil {
		return false, fmt.Errorf("creating volume dir: %w", err)
	}
	return true, nil
}

// ensureTmpfs makes dir a tmpfs mount, reporting whether it mounted one now.
func (o *op) ensureTmpfs(dir string, sizeLimit *resource.Quantity) (bool, error) {
	if _, err := ensureDir(dir, emptyDirPerm); err != nil {
		return false, err
	}
	mounted, fsType, err := o.mountPointType(dir)
	if err != nil {
		return false, err
	}
	if mounted {
		if fsType != "tmpfs" {
			return false, fmt.Errorf("%s is already a %s mount, want tmpfs", dir, fsType)
		}
		return false, nil
	}
	size := o.tmpfsSize(sizeLimit)
	if err := mountTmpfs(dir, size); err != nil {
		return false, err
	}
	return true, nil
}

// tmpfsSize bounds a memory-backed volume like the kubelet: the smallest of
// the node's allocatable memory, the pod's memory limit and the volume's
// sizeLimit, leaving out the ones that are unknown or unset. 0 means no
// bound (the kernel's default).
func (o *op) tmpfsSize(sizeLimit *resource.Quantity) int64 {
	var size int64
	alloc, err := o.allocatable()
	if err != nil {
		o.m.logOnce("alloc/"+string(o.pod.UID), "tmpfs volume not bounded by node allocatable memory",
			"pod", o.pod.Namespace+"/"+o.pod.Name, "err", err)
	} else if q, ok := alloc[corev1.ResourceMemory]; ok {
		size = q.Value()
	}
	lower := func(v int64) {
		if v > 0 && (size <= 0 || v < size) {
			size = v
		}
	}
	lower(podMemoryLimit(o.pod))
	if sizeLimit != nil {
		lower(sizeLimit.Value())
	}
	return size
}

// podMemoryLimit is the memory limit of the pod's cgroup: the pod-level
// limit, else the effective sum of container limits (regular containers and
// sidecars running together, or the largest init container with the
// sidecars started before it) plus overhead, or 0 when a container has no
// limit.
func podMemoryLimit(pod *corev1.Pod) int64 {
	overhead := pod.Spec.Overhead[corev1.ResourceMemory]
	if r := pod.Spec.Resources; r != nil {
		if q, ok := r.Limits[corev1.ResourceMemory]; ok && !q.IsZero() {
			return q.Value() + overhead.Value()
		}
	}
	var sidecars, initMax, regular int64
	for _, c := range pod.Spec.InitContainers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok || q.IsZero() {
			return 0
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars += q.Value()
			continue
		}
		initMax = max(initMax, sidecars+q.Value())
	}
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok || q.IsZero() {
			return 0
		}
		regular += q.Value()
	}
	return max(regular+sidecars, initMax) + overhead.Value()
}

// applyGroup gives path to group gid and adds the mode bits in add.
func applyGroup(path string, gid int, add os.FileMode) error {
	if err := os.Lchown(path, -1, gid); err != nil {
		return fmt.Errorf("applying fsGroup: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("applying fsGroup: %w", err)
	}
	mode := fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSetuid | os.ModeSticky)
	if err := os.Chmod(path, mode|add); err != nil {
		return fmt.Errorf("applying fsGroup: %w", err)
	}
	return nil
}

// diskUsage sums the blocks allocated under dir, counting hard-linked files
// once and not descending into other file systems.
func diskUsage(dir string) (int64, error) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return 0, fmt.Errorf("volume usage: %w", err)
	}
	dev := fi.Sys().(*syscall.Stat_t).Dev
	seen := map[uint64]bool{}
	var total int64
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("volume usage: %w", err)
	}
	return total, nil
}
