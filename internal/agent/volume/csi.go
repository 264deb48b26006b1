package volume

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/agent/csi"
)

// pluginCSI is the kubelet's directory name for CSI volumes.
const pluginCSI = "kubernetes.io~csi"

// csiCallTimeout bounds each call to a CSI driver.
const csiCallTimeout = 2 * time.Minute

// CSIDrivers finds the CSI drivers registered on the node (a
// *csi.Registry).
type CSIDrivers interface {
	Lookup(name string) (*csi.Driver, error)
}

// setupCSI makes a CSI PersistentVolume ready for the pod: staged once on
// the node if the driver stages (NodeStageVolume on
// <CSIDir>/<driver>/<sha256 of the volume handle>/globalmount), then
// published for the pod (NodePublishVolume on
// <pod>/volumes/kubernetes.io~csi/<pv name>/mount). A vol_data.json record
// beside the mount lets Teardown unpublish it, even after a restart.
//
// A volume already published for the pod (an agent restart finds its
// record and its mount) is used as it is, without asking the driver, which
// may not have registered again yet.
func (o *op) setupCSI(pv *corev1.PersistentVolume, readOnly bool) (Volume, error) {
	src := pv.Spec.CSI
	if src.VolumeHandle == "" {
		return Volume{}, fmt.Errorf("volume %s: empty CSI volume handle", pv.Name)
	}
	rec := csiRecord{SpecVolID: pv.Name, VolumeHandle: src.VolumeHandle, DriverName: src.Driver,
		NodeName: o.m.cfg.NodeName, LifecycleMode: "Persistent"}
	dir := o.volumeDir(pluginCSI, pv.Name)
	target := filepath.Join(dir, "mount")
	if o.csiPublished(dir, rec) {
		return Volume{HostPath: target, ReadOnly: readOnly}, nil
	}
	d, err := o.m.csiDriver(src.Driver)
	if err != nil {
		return Volume{}, err
	}
	unlock := o.m.csiLocks.lock(rec.key())
	defer unlock()
	if err := writeCSIRecord(dir, rec); err != nil {
		return Volume{}, err
	}
	ctx, cancel := context.WithTimeout(o.ctx, csiCallTimeout)
	defer cancel()
	capability := csiCapability(pv, d)
	staging := ""
	if d.StageUnstage() {
		if staging, err = o.m.stageCSI(ctx, d, rec, pv, capability); err != nil {
			return Volume{}, err
		}
	}
	secrets, err := o.m.csiSecrets(ctx, src.NodePublishSecretRef)
	if err != nil {
		return Volume{}, err
	}
	_, err = d.Node().NodePublishVolume(ctx, &csipb.NodePublishVolumeRequest{
		VolumeId: src.VolumeHandle, StagingTargetPath: staging, TargetPath: target,
		VolumeCapability: capability, Readonly: readOnly, Secrets: secrets, VolumeContext: src.VolumeAttributes,
	})
	if err != nil {
		return Volume{}, fmt.Errorf("kubernetes.io/csi: NodePublishVolume: %w", err)
	}
	return Volume{HostPath: target, ReadOnly: readOnly}, nil
}

// csiPublished reports whether the volume in dir is the one rec describes
// and is mounted.
func (o *op) csiPublished(dir string, rec csiRecord) bool {
	cur, err := readCSIRecord(dir)
	if err != nil || cur.key() != rec.key() {
		return false
	}
	mounted, _, err := o.mountPointType(filepath.Join(dir, "mount"))
	return err == nil && mounted
}

// csiDriver returns the registered driver called name.
func (m *Manager) csiDriver(name string) (*csi.Driver, error) {
	if m.cfg.CSIDrivers == nil {
		return nil, fmt.Errorf("kubernetes.io/csi: driver name %s %w", name, csi.ErrDriverNotFound)
	}
	d, err := m.cfg.CSIDrivers.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("kubernetes.io/csi: %w", err)
	}
	return d, nil
}

// stageCSI stages the volume on the node unless this manager did so
// already, and returns the staging path. NodeStageVolume is idempotent,
// so after a restart a volume is simply staged again.
func (m *Manager) stageCSI(ctx context.Context, d *csi.Driver, rec csiRecord, pv *corev1.PersistentVolume, capability *csipb.VolumeCapability) (string, error) {
	gdir, err := m.csiGlobalDir(rec, true)
	if err != nil {
		return "", err
	}
	staging := filepath.Join(gdir, "globalmount")
	if m.isStaged(rec.key()) {
		return staging, nil
	}
	// The record comes first: a volume staged by an agent that then died
	// is still found and unstaged.
	if err := writeCSIRecord(gdir, rec); err != nil {
		return "", err
	}
	if _, err := ensureDir(staging, 0o750); err != nil {
		return "", err
	}
	secrets, err := m.csiSecrets(ctx, pv.Spec.CSI.NodeStageSecretRef)
	if err != nil {
		return "", err
	}
	_, err = d.Node().NodeStageVolume(ctx, &csipb.NodeStageVolumeRequest{
		VolumeId: rec.VolumeHandle, StagingTargetPath: staging, VolumeCapability: capability,
		Secrets: secrets, VolumeContext: pv.Spec.CSI.VolumeAttributes,
	})
	if err != nil {
		return "", fmt.Errorf("kubernetes.io/csi: MountDevice: NodeStageVolume: %w", err)
	}
	m.setStaged(rec.key(), true)
	return staging, nil
}

// csiGlobalDir is the node-wide directory of a volume:
// <CSIDir>/<driver>/<sha256 of the handle>, as the kubelet names it.
func (m *Manager) csiGlobalDir(rec csiRecord, create bool) (string, error) {
	if err := checkName("CSI driver name", rec.DriverName); err != nil {
		return "", err
	}
	root, err := m.csiRoot(create)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(rec.VolumeHandle))
	return filepath.Join(root, rec.DriverName, hex.EncodeToString(sum[:])), nil
}

// csiRoot returns CSIDir with symlinks resolved, creating it if asked.
func (m *Manager) csiRoot(create bool) (string, error) {
	dir := m.cfg.CSIDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(m.cfg.RootDir), "plugins", "kubernetes.io", "csi")
	}
	if create {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("creating CSI dir: %w", err)
		}
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolving CSI dir: %w", err)
	}
	return filepath.Abs(root)
}

// csiCapability is the volume capability the driver is asked for: a
// mounted file system with the PV's fsType and mount options, and the
// access mode of the PV's first access mode, as the kubelet picks it.
func csiCapability(pv *corev1.PersistentVolume, d *csi.Driver) *csipb.VolumeCapability {
	mode := corev1.ReadWriteOnce
	if len(pv.Spec.AccessModes) > 0 {
		mode = pv.Spec.AccessModes[0]
	}
	return &csipb.VolumeCapability{
		AccessType: &csipb.VolumeCapability_Mount{Mount: &csipb.VolumeCapability_MountVolume{
			FsType: pv.Spec.CSI.FSType, MountFlags: pv.Spec.MountOptions,
		}},
		AccessMode: &csipb.VolumeCapability_AccessMode{
			Mode: csiAccessMode(mode, d.Has(csipb.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER)),
		},
	}
}

// csiAccessMode maps a Kubernetes access mode to CSI's. Drivers that know
// the single-node multi-writer modes get them for ReadWriteOnce and
// ReadWriteOncePod.
func csiAccessMode(mode corev1.PersistentVolumeAccessMode, singleNodeMulti bool) csipb.VolumeCapability_AccessMode_Mode {
	switch mode {
	case corev1.ReadOnlyMany:
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	case corev1.ReadWriteMany:
		return csipb.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	case corev1.ReadWriteOncePod:
		if singleNodeMulti {
			return csipb.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER
		}
		return csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	case corev1.ReadWriteOnce:
		if singleNodeMulti {
			return csipb.VolumeCapability_AccessMode_SINGLE_NODE_MULTI_WRITER
		}
		return csipb.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	}
	return csipb.VolumeCapability_AccessMode_UNKNOWN
}

// csiSecrets reads the secret a PV refers to for a node call; nil without
// a reference.
func (m *Manager) csiSecrets(ctx context.Context, ref *corev1.SecretReference) (map[string]string, error) {
	if ref == nil {
		return nil, nil
	}
	if m.cfg.Client == nil {
		return nil, errors.New("kubernetes.io/csi: no API client to read secrets with")
	}
	s, err := m.cfg.Client.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubernetes.io/csi: failed to find the secret %s in the namespace %s: %w", ref.Name, ref.Namespace, err)
	}
	out := make(map[string]string, len(s.Data))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out, nil
}
