package volume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
)

// csiRecordFile is the record of a CSI volume, beside its mount point (per
// pod) and its staging directory (per node).
const csiRecordFile = "vol_data.json"

// csiRecord is what is kept on disk about a CSI volume, with the
// kubelet's keys.
type csiRecord struct {
	SpecVolID     string `json:"specVolID"`
	VolumeHandle  string `json:"volumeHandle"`
	DriverName    string `json:"driverName"`
	NodeName      string `json:"nodeName,omitempty"`
	LifecycleMode string `json:"volumeLifecycleMode,omitempty"`
}

// key names the volume on the node: one staging per key.
func (r csiRecord) key() string { return r.DriverName + "^" + r.VolumeHandle }

func writeCSIRecord(dir string, rec csiRecord) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating CSI volume dir: %w", err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("CSI volume record: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, csiRecordFile), data); err != nil {
		return fmt.Errorf("CSI volume record: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data through a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readCSIRecord(dir string) (csiRecord, error) {
	var rec csiRecord
	data, err := os.ReadFile(filepath.Join(dir, csiRecordFile))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("CSI volume record in %s: %w", dir, err)
	}
	if rec.DriverName == "" || rec.VolumeHandle == "" {
		return rec, fmt.Errorf("CSI volume record in %s: no driver or volume handle", dir)
	}
	return rec, nil
}

// teardownCSI unpublishes the pod's CSI volumes through their drivers.
// What fails is left mounted for Teardown to unmount locally (so that
// removing the pod's directory never reaches into a volume); the node's
// staging is then released by unstageUnused once the driver answers.
func (m *Manager) teardownCSI(podDir string) error {
	base := filepath.Join(podDir, "volumes", pluginCSI)
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing CSI volumes: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			if err := m.unpublishCSI(filepath.Join(base, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unpublishCSI asks the driver to unpublish the volume in dir and removes
// its record once nothing is mounted there.
func (m *Manager) unpublishCSI(dir string) error {
	rec, err := readCSIRecord(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // set up failed before anything reached a driver
	}
	if err != nil {
		return err
	}
	unlock := m.csiLocks.lock(rec.key())
	defer unlock()
	target := filepath.Join(dir, "mount")
	d, err := m.csiDriver(rec.DriverName)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), csiCallTimeout)
		defer cancel()
		_, err = d.Node().NodeUnpublishVolume(ctx, &csipb.NodeUnpublishVolumeRequest{VolumeId: rec.VolumeHandle, TargetPath: target})
	}
	if err == nil {
		err = removeUnmounted(target, filepath.Join(dir, csiRecordFile), dir)
	}
	if err != nil {
		return fmt.Errorf("UnmountVolume.TearDown failed for volume %q (driver %s, handle %s): %w",
			rec.SpecVolID, rec.DriverName, rec.VolumeHandle, err)
	}
	return nil
}

// removeUnmounted checks that target is no longer a mount point and
// removes the paths given, in order (files and empty directories only;
// missing ones are fine).
func removeUnmounted(target string, paths ...string) error {
	if mounted, err := isMounted(target); err != nil || mounted {
		if err == nil {
			err = fmt.Errorf("%s is still mounted", target)
		}
		return err
	}
	for _, p := range append([]string{target}, paths...) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", p, err)
		}
	}
	return nil
}

// UnstageUnused unstages the node's CSI volumes that no pod on the node
// uses any more, as Teardown does after each pod; call it after the
// drivers come back to release what a failed teardown left. Volumes of
// drivers not registered now are left for later.
func (m *Manager) UnstageUnused() error {
	root, err := m.csiRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, gdir := range subdirs(root, 2) {
		rec, err := readCSIRecord(gdir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = m.unstageIfUnused(gdir, rec)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unstageIfUnused unstages one volume unless a pod's record refers to it.
func (m *Manager) unstageIfUnused(gdir string, rec csiRecord) error {
	unlock := m.csiLocks.lock(rec.key())
	defer unlock()
	used, err := m.csiInUse(rec.key())
	if err != nil || used {
		return err
	}
	d, err := m.csiDriver(rec.DriverName)
	if err != nil {
		m.logOnce("unstage-wait/"+rec.key(), "CSI volume waits for its driver to be unstaged",
			"driver", rec.DriverName, "volumeHandle", rec.VolumeHandle)
		return nil
	}
	staging := filepath.Join(gdir, "globalmount")
	if d.StageUnstage() {
		ctx, cancel := context.WithTimeout(context.Background(), csiCallTimeout)
		defer cancel()
		_, err = d.Node().NodeUnstageVolume(ctx, &csipb.NodeUnstageVolumeRequest{VolumeId: rec.VolumeHandle, StagingTargetPath: staging})
	}
	if err == nil {
		m.setStaged(rec.key(), false)
		err = removeUnmounted(staging, filepath.Join(gdir, csiRecordFile), gdir)
	}
	if err != nil {
		return fmt.Errorf("UnmountDevice failed for volume %q (driver %s, handle %s): %w", rec.SpecVolID, rec.DriverName, rec.VolumeHandle, err)
	}
	_ = os.Remove(filepath.Dir(gdir)) // the driver's directory, once empty
	return nil
}

// csiInUse reports whether a pod's CSI volume record refers to key.
func (m *Manager) csiInUse(key string) (bool, error) {
	root, err := m.rootDir(false)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, pod := range subdirs(root, 1) {
		for _, dir := range subdirs(filepath.Join(pod, "volumes", pluginCSI), 1) {
			if rec, err := readCSIRecord(dir); err == nil && rec.key() == key {
				return true, nil
			}
		}
	}
	return false, nil
}

// subdirs lists the directories depth levels below dir (unreadable or
// missing directories have none).
func subdirs(dir string, depth int) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if depth == 1 {
			out = append(out, p)
		} else {
			out = append(out, subdirs(p, depth-1)...)
		}
	}
	return out
}

// isMounted reports whether path is a mount point.
func isMounted(path string) (bool, error) {
	mounts, err := readMounts()
	if err != nil {
		return false, err
	}
	for _, m := range mounts {
		if m.point == path {
			return true, nil
		}
	}
	return false, nil
}

func (m *Manager) isStaged(key string) bool {
	m.stagedMu.Lock()
	defer m.stagedMu.Unlock()
	return m.staged[key]
}

func (m *Manager) setStaged(key string, staged bool) {
	m.stagedMu.Lock()
	defer m.stagedMu.Unlock()
	if staged {
		m.staged[key] = true
	} else {
		delete(m.staged, key)
	}
}

// keyedLocks serialises the operations on one CSI volume (staging,
// publishing, unstaging) across pods.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
