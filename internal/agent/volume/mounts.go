package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/skiff/skiff/internal/agent/envvars"
	corev1 "k8s.io/api/core/v1"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerMounts turns c's volumeMounts into CRI mounts over vols (from
// Setup). A subPathExpr is expanded with the variables ResolveLocal can
// compute without the API (literal values and pod fields); use
// ContainerMountsWithEnv to expand with the container's full environment.
func ContainerMounts(pod *corev1.Pod, c *corev1.Container, vols Volumes) ([]*criv1.Mount, error) {
	var env []*criv1.KeyValue
	for _, vm := range c.VolumeMounts {
		if vm.SubPathExpr != "" {
			env = envvars.ResolveLocal(pod, c)
			break
		}
	}
	return ContainerMountsWithEnv(pod, c, vols, env)
}

// ContainerMountsWithEnv is ContainerMounts with env (as returned by
// envvars.Resolve) for subPathExpr. For each volumeMount:
//   - the volume must be in vols;
//   - the mount is read-only when the volumeMount or the volume is;
//   - subPath (or subPathExpr, expanded with $(VAR) from env; an undefined
//     or empty variable is an error) selects a path inside the volume. It
//     must be relative without "..", must not leave the volume through a
//     symlink, and is created as a directory (with the volume's mode) when
//     missing;
//   - mountPropagation maps to the CRI propagation (Bidirectional only for
//     privileged containers); recursiveReadOnly Enabled asks the runtime for
//     a recursive read-only mount, IfPossible does not (runtime support is
//     not known here);
//   - bindMountOptions (noexec, nodev, nosuid) pass to the runtime.
func ContainerMountsWithEnv(pod *corev1.Pod, c *corev1.Container, vols Volumes, env []*criv1.KeyValue) ([]*criv1.Mount, error) {
	envMap := make(map[string]string, len(env))
	for _, kv := range env {
		envMap[kv.Key] = string(kv.Value)
	}
	out := make([]*criv1.Mount, 0, len(c.VolumeMounts))
	for i := range c.VolumeMounts {
		m, err := containerMount(c, &c.VolumeMounts[i], vols, envMap)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func containerMount(c *corev1.Container, vm *corev1.VolumeMount, vols Volumes, env map[string]string) (*criv1.Mount, error) {
	vol, ok := vols[vm.Name]
	if !ok {
		return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
	}
	if !filepath.IsAbs(vm.MountPath) {
		return nil, fmt.Errorf("mountPath %q of volumeMount %q in container %q must be an absolute path", vm.MountPath, vm.Name, c.Name)
	}
	subPath, err := mountSubPath(vm, env)
	if err != nil {
		return nil, err
	}
	hostPath := vol.HostPath
	if subPath != "" {
		if hostPath, err = prepareSubPath(vol.HostPath, subPath); err != nil {
			return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, c.Name, err)
		}
	}
	prop, err := propagation(vm.MountPropagation, c)
	if err != nil {
		return nil, err
	}
	rro, err := recursiveReadOnly(vm, prop)
	if err != nil {
		return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, c.Name, err)
	}
	opts, err := bindMountOptions(vm.BindMountOptions)
	if err != nil {
		return nil, fmt.Errorf("volumeMount %q of container %q: %w", vm.Name, c.Name, err)
	}
	return &criv1.Mount{
		ContainerPath:     vm.MountPath,
		HostPath:          hostPath,
		Readonly:          vm.ReadOnly || vol.ReadOnly,
		Propagation:       prop,
		RecursiveReadOnly: rro,
		MountOptions:      opts,
	}, nil
}

// mountSubPath returns the subPath of vm, expanding subPathExpr, and checks
// that it stays inside the volume lexically.
func mountSubPath(vm *corev1.VolumeMount, env map[string]string) (string, error) {
	subPath := vm.SubPath
	if vm.SubPathExpr != "" {
		var missing []string
		subPath = envvars.Expand(vm.SubPathExpr, func(name string) (string, bool) {
			v := env[name]
			if v == "" {
				missing = append(missing, name)
			}
			return v, true
		})
		if len(missing) > 0 {
			sort.Strings(missing)
			return "", fmt.Errorf("subPathExpr of volumeMount %q: missing value for %s", vm.Name, strings.Join(missing, ", "))
		}
	}
	if subPath == "" {
		return "", nil
	}
	if filepath.IsAbs(subPath) {
		return "", fmt.Errorf("error SubPath `%s` must not be an absolute path", subPath)
	}
	for _, e := range strings.Split(filepath.ToSlash(subPath), "/") {
		if e == ".." {
			return "", fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", subPath)
		}
	}
	return subPath, nil
}

// prepareSubPath resolves subPath inside the volume at volPath, creating
// missing directories with the volume root's mode, and refuses a path that
// leaves the volume through a symlink. It returns the resolved host path.
// (The check and the runtime's bind mount are not atomic: a container that
// swaps a checked directory for a symlink in between can still escape; the
// kubelet closes that race by bind-mounting through an open descriptor.)
func prepareSubPath(volPath, subPath string) (string, error) {
	base, err := filepath.EvalSymlinks(volPath)
	if err != nil {
		return "", fmt.Errorf("resolving volume for subPath %q: %w", subPath, err)
	}
	fi, err := os.Stat(base)
	if err != nil {
		return "", fmt.Errorf("subPath %q: %w", subPath, err)
	}
	perm := fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSticky)
	cur := base
	for _, e := range strings.Split(filepath.Clean(subPath), "/") {
		if e == "." || e == "" {
			continue
		}
		if cur, err = subPathStep(base, cur, e, perm); err != nil {
			return "", fmt.Errorf("subPath %q: %w", subPath, err)
		}
	}
	return cur, nil
}

// subPathStep moves from cur to its child e, creating it if missing.
func subPathStep(base, cur, e string, perm os.FileMode) (string, error) {
	if fi, err := os.Stat(cur); err != nil || !fi.IsDir() {
		return "", errors.New("a parent is not a directory")
	}
	next := filepath.Join(cur, e)
	fi, err := os.Lstat(next)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := mkdirExact(next, perm); err != nil {
			return "", err
		}
		return subPathStep(base, cur, e, perm) // re-check what is there now
	case err != nil:
		return "", err
	case fi.Mode()&os.ModeSymlink == 0:
		return next, nil
	}
	resolved, err := filepath.EvalSymlinks(next)
	if err != nil {
		return "", fmt.Errorf("following symlink: %w", err)
	}
	if resolved != base && !strings.HasPrefix(resolved, base+"/") {
		return "", errors.New("escapes the volume through a symlink")
	}
	return resolved, nil
}

func propagation(mode *corev1.MountPropagationMode, c *corev1.Container) (criv1.MountPropagation, error) {
	switch {
	case mode == nil, *mode == corev1.MountPropagationNone:
		return criv1.MountPropagation_PROPAGATION_PRIVATE, nil
	case *mode == corev1.MountPropagationHostToContainer:
		return criv1.MountPropagation_PROPAGATION_HOST_TO_CONTAINER, nil
	case *mode == corev1.MountPropagationBidirectional:
		sc := c.SecurityContext
		if sc == nil || sc.Privileged == nil || !*sc.Privileged {
			return 0, fmt.Errorf("container %q: Bidirectional mount propagation is available only to privileged containers", c.Name)
		}
		return criv1.MountPropagation_PROPAGATION_BIDIRECTIONAL, nil
	}
	return 0, fmt.Errorf("invalid MountPropagation mode: %q", *mode)
}

func recursiveReadOnly(vm *corev1.VolumeMount, prop criv1.MountPropagation) (bool, error) {
	if vm.RecursiveReadOnly == nil || *vm.RecursiveReadOnly == corev1.RecursiveReadOnlyDisabled {
		return false, nil
	}
	if !vm.ReadOnly {
		return false, errors.New("recursiveReadOnly requires readOnly")
	}
	switch *vm.RecursiveReadOnly {
	case corev1.RecursiveReadOnlyIfPossible:
		return false, nil
	case corev1.RecursiveReadOnlyEnabled:
		if prop != criv1.MountPropagation_PROPAGATION_PRIVATE {
			return false, errors.New("recursiveReadOnly Enabled requires mountPropagation None")
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown recursiveReadOnly mode %q", *vm.RecursiveReadOnly)
}

func bindMountOptions(opts []string) ([]string, error) {
	for _, o := range opts {
		switch corev1.BindMountOption(o) {
		case corev1.BindMountOptionNoExec, corev1.BindMountOptionNoDev, corev1.BindMountOptionNoSUID:
		default:
			return nil, fmt.Errorf("unsupported bindMountOption %q", o)
		}
	}
	if len(opts) == 0 {
		return nil, nil
	}
	return append([]string(nil), opts...), nil
}

// mkdirExact creates dir with exactly perm (whatever the umask), never
// following a symlink a container may have put there meanwhile. A dir that
// already exists is left alone.
func mkdirExact(dir string, perm os.FileMode) error {
	err := os.Mkdir(dir, perm)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	return nil
}
