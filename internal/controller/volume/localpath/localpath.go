// Package localpath is skiff's built-in dynamic provisioner, in the
// manner of k3s's rancher.io/local-path: a claim of a class whose
// provisioner is skiff.io/local-path gets a `local` PersistentVolume at
// <storage root>/<pv>_<namespace>_<claim> on the node its first consumer
// was scheduled to, pinned there by required node affinity on
// kubernetes.io/hostname.
//
// The provisioner only writes API objects; the directory lives on the
// node, which may be another machine, so the node agent does the file
// work: it creates the directory when it first mounts the volume, and
// when the volume is deleted (its claim gone, reclaim policy Delete) it
// removes the directory and then the skiff.io/local-path-cleanup
// finalizer every provisioned volume carries, which lets the object go.
// The node agent publishes its storage root in the skiff.io/storage-root
// annotation of its Node.
//
// Sizes are recorded, not enforced: a volume can hold more than its
// capacity, and expanding a claim only records the new size.
package localpath

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/controller/volume/persistentvolume"
)

const (
	// Name is the provisioner name classes give.
	Name = "skiff.io/local-path"
	// ClassName is the default StorageClass.
	ClassName = "local-path"
	// StorageRootAnnotation on a Node is the directory its agent keeps
	// local-path volumes in.
	StorageRootAnnotation = "skiff.io/storage-root"
	// DefaultStorageRoot is the storage root of a node that does not
	// publish one: the agent's default data dir plus "storage".
	DefaultStorageRoot = "/var/lib/skiff/agent/storage"
	// CleanupFinalizer on a provisioned volume is removed by the node
	// agent once the volume's directory is gone.
	CleanupFinalizer = "skiff.io/local-path-cleanup"
)

// DefaultStorageClass is the class skiff creates at start: the default,
// WaitForFirstConsumer (the node is known before the directory is made),
// reclaim policy Delete, expansion allowed.
func DefaultStorageClass() *storagev1.StorageClass {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	reclaim := corev1.PersistentVolumeReclaimDelete
	expand := true
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ClassName,
			Annotations: map[string]string{persistentvolume.AnnDefaultClass: "true"},
		},
		Provisioner:          Name,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &mode,
		AllowVolumeExpansion: &expand,
	}
}

// EnsureDefaultStorageClass creates the default class unless a class of
// its name exists; an existing one is left as the user made it.
func EnsureDefaultStorageClass(ctx context.Context, client kubernetes.Interface) error {
	classes := client.StorageV1().StorageClasses()
	_, err := classes.Get(ctx, ClassName, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("localpath: reading storage class %s: %w", ClassName, err)
	}
	_, err = classes.Create(ctx, DefaultStorageClass(), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("localpath: creating storage class %s: %w", ClassName, err)
	}
	return nil
}

// Provisioner provisions local-path volumes.
type Provisioner struct{}

// New returns the provisioner.
func New() *Provisioner { return &Provisioner{} }

// Name returns skiff.io/local-path.
func (*Provisioner) Name() string { return Name }

// Provision returns a local volume in the selected node's storage root.
func (*Provisioner) Provision(_ context.Context, req persistentvolume.ProvisionRequest) (*corev1.PersistentVolume, error) {
	node, claim := req.SelectedNode, req.Claim
	if node == nil {
		return nil, errors.New("configuration error, no node was specified: local-path volumes need a StorageClass with volumeBindingMode WaitForFirstConsumer")
	}
	if err := checkClaim(claim); err != nil {
		return nil, err
	}
	root := StorageRoot(node)
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("node %s: storage root %q is not an absolute path", node.Name, root)
	}
	hostname := node.Labels[corev1.LabelHostname]
	if hostname == "" {
		hostname = node.Name
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: req.PVName, Finalizers: []string{CleanupFinalizer}},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				Local: &corev1.LocalVolumeSource{Path: path.Join(root, DirName(req.PVName, claim.Namespace, claim.Name))},
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{hostname},
				}},
			}}}},
		},
	}
	return pv, nil
}

// checkClaim refuses what a directory on one node cannot give.
func checkClaim(claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.Selector != nil {
		return errors.New("claim Selector is not supported")
	}
	if m := claim.Spec.VolumeMode; m != nil && *m == corev1.PersistentVolumeBlock {
		return errors.New("block volumes are not supported")
	}
	if claim.Spec.DataSource != nil || claim.Spec.DataSourceRef != nil {
		return errors.New("data sources are not supported")
	}
	for _, m := range claim.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			return fmt.Errorf("access mode %s is not supported: only ReadWriteOnce and ReadWriteOncePod", m)
		}
	}
	return nil
}

// Delete frees nothing itself: the node agent removes the directory and
// then the cleanup finalizer, after the controller deletes the object.
func (*Provisioner) Delete(context.Context, *corev1.PersistentVolume) error { return nil }

// StorageRoot is the node's published storage root, or the default.
func StorageRoot(node *corev1.Node) string {
	if root := node.Annotations[StorageRootAnnotation]; root != "" {
		return root
	}
	return DefaultStorageRoot
}

// DirName is the directory of a volume: <pv>_<namespace>_<claim>, as
// rancher.io/local-path names them (a single path element: none of the
// names may contain a slash).
func DirName(pvName, namespace, claim string) string {
	return strings.Join([]string{pvName, namespace, claim}, "_")
}

// IsProvisioned says this provisioner made the volume.
func IsProvisioned(pv *corev1.PersistentVolume) bool {
	return pv.Annotations[persistentvolume.AnnProvisionedBy] == Name
}

// NodeOf returns the host name a provisioned volume is pinned to, or "".
func NodeOf(pv *corev1.PersistentVolume) string {
	a := pv.Spec.NodeAffinity
	if a == nil || a.Required == nil {
		return ""
	}
	for _, term := range a.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn && len(e.Values) == 1 {
				return e.Values[0]
			}
		}
	}
	return ""
}
