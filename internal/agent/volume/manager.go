// Package volume prepares a pod's volumes on the node the way the kubelet
// does, and turns a container's volumeMounts into CRI mounts.
//
// Layout: RootDir/<pod uid>/volumes/<plugin>/<volume name>, with the
// kubelet's plugin directory names (kubernetes.io~empty-dir,
// kubernetes.io~configmap, kubernetes.io~secret, kubernetes.io~downward-api,
// kubernetes.io~projected, kubernetes.io~local-volume). hostPath volumes
// use the host path itself.
//
// ConfigMap, Secret, downward API and projected volumes are written like the
// kubelet's atomic writer: the files live in a timestamped directory
// (..2006_01_02_15_04_05.NNNN), the ..data symlink points at it and is
// swapped atomically on update, and each user-visible name is a symlink
// through ..data. Secret, downward API, projected and medium: Memory
// emptyDir volumes are tmpfs mounts; configMap and other emptyDir volumes
// live on the agent's disk.
//
// persistentVolumeClaim volumes resolve to the claim's bound
// PersistentVolume (the pod waits, ContainerCreating, while the claim is
// Pending): a `local` volume is bind-mounted into the pod's directory, a
// hostPath volume is used in place; a local-path volume (skiff.io/local-path)
// gets its directory under the storage root on first use. Cleaner removes
// those directories again when their volumes are deleted. A CSI volume
// goes through its driver (registered by internal/agent/csi): staged once
// on the node when the driver stages, under
// <CSIDir>/<driver>/<sha256 of the volume handle>/globalmount, then
// published for each pod on
// RootDir/<pod uid>/volumes/kubernetes.io~csi/<pv name>/mount; Teardown
// unpublishes it and unstages it when no pod on the node uses it any more.
// A vol_data.json record beside each lets that happen after a restart.
// Node stage and publish secrets are read from the PV's secret
// references; CSIDriver objects (podInfoOnMount, fsGroupPolicy) and
// inline (ephemeral) CSI volumes are not supported yet.
package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Plugin directory names, as the kubelet spells them on disk.
const (
	pluginEmptyDir    = "kubernetes.io~empty-dir"
	pluginConfigMap   = "kubernetes.io~configmap"
	pluginSecret      = "kubernetes.io~secret"
	pluginDownwardAPI = "kubernetes.io~downward-api"
	pluginProjected   = "kubernetes.io~projected"
	pluginLocal       = "kubernetes.io~local-volume"
)

// Config configures a Manager.
type Config struct {
	// RootDir is the pods directory, e.g. <agent data dir>/pods.
	RootDir string
	// Client reads ConfigMaps, Secrets and the Node (allocatable resources).
	Client kubernetes.Interface
	// NodeName is this node, for its allocatable resources.
	NodeName string
	// StorageRoot holds the node's local-path volumes (the agent
	// publishes it in the skiff.io/storage-root Node annotation);
	// <parent of RootDir>/storage when empty.
	StorageRoot string
	// CSIDrivers finds the node's registered CSI drivers; without it CSI
	// volumes fail to mount.
	CSIDrivers CSIDrivers
	// CSIDir holds the node-wide staging directories of CSI volumes;
	// <parent of RootDir>/plugins/kubernetes.io/csi when empty.
	CSIDir string
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
}

// Volume is a pod volume ready on the host.
type Volume struct {
	// HostPath is the directory (or file, for some hostPath volumes) to
	// bind-mount into containers.
	HostPath string
	// ReadOnly is set for volumes containers may never write to
	// (configMap, secret, downwardAPI, projected).
	ReadOnly bool
}

// Volumes maps a pod's volume names to their host side.
type Volumes map[string]Volume

// Manager sets up and tears down pod volumes. It is safe for concurrent use;
// calls for the same pod are serialised.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	mu     sync.Mutex
	pods   map[types.UID]*podState
	logged sync.Map // one-time log lines already written

	allocMu sync.Mutex
	alloc   corev1.ResourceList // node allocatable, fetched at allocAt
	allocAt time.Time

	csiLocks keyedLocks
	stagedMu sync.Mutex
	staged   map[string]bool // CSI volumes this manager staged, by csiRecord.key
}

// podState is what the manager remembers about a pod between calls.
type podState struct {
	mu sync.Mutex
	// ready holds emptyDir and hostPath volumes that are set up and need no
	// further checks (the kubelet, too, checks them only when mounting).
	ready map[string]bool
	// claims holds persistentVolumeClaim volumes that are set up: the
	// claim and its volume are not looked up again for the pod.
	claims map[string]Volume
}

// New returns a Manager.
func New(cfg Config) *Manager {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, pods: map[types.UID]*podState{}, staged: map[string]bool{}}
}

func (m *Manager) lockPod(uid types.UID) *podState {
	m.mu.Lock()
	ps := m.pods[uid]
	if ps == nil {
		ps = &podState{ready: map[string]bool{}, claims: map[string]Volume{}}
		m.pods[uid] = ps
	}
	m.mu.Unlock()
	ps.mu.Lock()
	return ps
}

func (m *Manager) forgetPod(uid types.UID) {
	m.mu.Lock()
	delete(m.pods, uid)
	m.mu.Unlock()
}

// logOnce logs msg the first time key is seen.
func (m *Manager) logOnce(key, msg string, args ...any) {
	if _, seen := m.logged.LoadOrStore(key, true); !seen {
		m.log.Info(msg, args...)
	}
}

// rootDir returns RootDir with symlinks resolved (mount points are compared
// with the kernel's view of paths), creating it when create is set.
func (m *Manager) rootDir(create bool) (string, error) {
	if m.cfg.RootDir == "" {
		return "", errors.New("volume: RootDir is not set")
	}
	if create {
		if err := os.MkdirAll(m.cfg.RootDir, 0o750); err != nil {
			return "", fmt.Errorf("creating pods dir: %w", err)
		}
	}
	root, err := filepath.EvalSymlinks(m.cfg.RootDir)
	if err != nil {
		return "", fmt.Errorf("resolving pods dir: %w", err)
	}
	return filepath.Abs(root)
}

// storageRoot is StorageRoot or its default.
func (m *Manager) storageRoot() string {
	if m.cfg.StorageRoot != "" {
		return m.cfg.StorageRoot
	}
	return filepath.Join(filepath.Dir(m.cfg.RootDir), "storage")
}

// checkName rejects a pod UID or volume name that is not a single path
// element.
func checkName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid %s %q", kind, name)
	}
	return nil
}

// PodUIDs lists the pods that have a directory under RootDir, e.g. to clean
// up after an agent restart.
func (m *Manager) PodUIDs() ([]types.UID, error) {
	root, err := m.rootDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("listing pods dir: %w", err)
	}
	var uids []types.UID
	for _, e := range entries {
		if e.IsDir() {
			uids = append(uids, types.UID(e.Name()))
		}
	}
	return uids, nil
}

// Teardown unpublishes the pod's CSI volumes, unmounts every mount under
// the pod's directory (tmpfs volumes, anything propagated into its
// volumes, and CSI volumes whose driver failed to unpublish them) and
// removes the directory; then it unstages the CSI volumes no pod on the
// node uses any more. It refuses to remove anything while a mount
// remains. A pod without a directory is not an error.
func (m *Manager) Teardown(uid types.UID) error {
	if err := checkName("pod UID", string(uid)); err != nil {
		return err
	}
	ps := m.lockPod(uid)
	defer ps.mu.Unlock()
	root, err := m.rootDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		m.forgetPod(uid)
		return nil
	}
	if err != nil {
		return err
	}
	podDir := filepath.Join(root, string(uid))
	if _, err := os.Lstat(podDir); errors.Is(err, fs.ErrNotExist) {
		m.forgetPod(uid)
		return nil
	}
	csiErr := m.teardownCSI(podDir)
	if err := unmountAll(podDir); err != nil {
		return errors.Join(csiErr, fmt.Errorf("tearing down pod %s: %w", uid, err))
	}
	if err := os.RemoveAll(podDir); err != nil {
		return errors.Join(csiErr, fmt.Errorf("tearing down pod %s: %w", uid, err))
	}
	m.forgetPod(uid)
	return errors.Join(csiErr, m.UnstageUnused())
}

// EmptyDirUsage returns the bytes used by an emptyDir volume (allocated
// blocks, like du, not crossing into other mounts), for sizeLimit eviction.
func (m *Manager) EmptyDirUsage(uid types.UID, name string) (int64, error) {
	if err := checkName("pod UID", string(uid)); err != nil {
		return 0, err
	}
	if err := checkName("volume name", name); err != nil {
		return 0, err
	}
	root, err := m.rootDir(false)
	if err != nil {
		return 0, err
	}
	return diskUsage(filepath.Join(root, string(uid), "volumes", pluginEmptyDir, name))
}

// op is one Setup or Refresh of one pod.
type op struct {
	ctx       context.Context
	m         *Manager
	pod       *corev1.Pod
	podDir    string
	gid       int // fsGroup, -1 when unset
	alloc     corev1.ResourceList
	allocErr  error
	allocDone bool
	mounts    []mountEntry // mount table, read on first use
}

func (m *Manager) newOp(ctx context.Context, pod *corev1.Pod) (*op, error) {
	if err := checkName("pod UID", string(pod.UID)); err != nil {
		return nil, err
	}
	root, err := m.rootDir(true)
	if err != nil {
		return nil, err
	}
	o := &op{ctx: ctx, m: m, pod: pod, podDir: filepath.Join(root, string(pod.UID)), gid: -1}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		o.gid = int(*sc.FSGroup)
	}
	return o, nil
}

func (o *op) volumeDir(plugin, name string) string {
	return filepath.Join(o.podDir, "volumes", plugin, name)
}

// allocatable returns the node's allocatable resources, fetched at most once
// per operation.
func (o *op) allocatable() (corev1.ResourceList, error) {
	if !o.allocDone {
		o.allocDone = true
		o.alloc, o.allocErr = o.m.fetchAllocatable(o.ctx)
	}
	return o.alloc, o.allocErr
}
