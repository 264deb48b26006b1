package core

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func hostPathPV(name string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/" + name}},
		},
	}
}

func TestPVDefaultAndCreate(t *testing.T) {
	pv := hostPathPV("pv1")
	registrytest.ExpectValid(t, strategyCreate(pvStrategy, pv))
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("reclaim policy = %q", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume mode = %v", pv.Spec.VolumeMode)
	}
	if pv.Status.Phase != corev1.VolumePending || pv.Status.LastPhaseTransitionTime == nil {
		t.Errorf("status = %+v", pv.Status)
	}
}

func TestPVValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.PersistentVolume)
		want   []registrytest.Want
	}{
		{"valid", func(pv *corev1.PersistentVolume) {}, nil},
		{"valid csi", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "vol-1"}
		}, nil},
		{"no access modes", func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = nil }, []registrytest.Want{registrytest.Required("spec.accessModes", "")}},
		{"bad access mode", func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadAll"}
		},
			[]registrytest.Want{registrytest.NotSupported("spec.accessModes", "")}},
		{"RWOP with others", func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = append(pv.Spec.AccessModes, corev1.ReadWriteOncePod)
		}, []registrytest.Want{registrytest.Forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes")}},
		{"no capacity", func(pv *corev1.PersistentVolume) { pv.Spec.Capacity = nil }, []registrytest.Want{
			registrytest.Required("spec.capacity", ""), registrytest.NotSupported("spec.capacity", `"storage"`)}},
		{"zero capacity", func(pv *corev1.PersistentVolume) { pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("0") },
			[]registrytest.Want{registrytest.Invalid("spec.capacity[storage]", "must be greater than zero")}},
		{"no source", func(pv *corev1.PersistentVolume) { pv.Spec.HostPath = nil }, []registrytest.Want{registrytest.Required("spec", "must specify a volume type")}},
		{"two sources", func(pv *corev1.PersistentVolume) {
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/export"}
		}, []registrytest.Want{registrytest.Forbidden("spec.nfs", "may not specify more than 1 volume type")}},
		{"relative nfs path", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath, pv.Spec.NFS = nil, &corev1.NFSVolumeSource{Server: "nfs", Path: "export"}
		}, []registrytest.Want{registrytest.Invalid("spec.nfs.path", "must be an absolute path")}},
		{"local without affinity", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath, pv.Spec.Local = nil, &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}, []registrytest.Want{registrytest.Required("spec.nodeAffinity", "Local volume requires node affinity")}},
		{"bad reclaim policy", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Keep" },
			[]registrytest.Want{registrytest.NotSupported("spec.persistentVolumeReclaimPolicy", "")}},
		{"recycle root", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath.Path, pv.Spec.PersistentVolumeReclaimPolicy = "/", corev1.PersistentVolumeReclaimRecycle
		}, []registrytest.Want{registrytest.Forbidden("spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'")}},
		{"backstep", func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "/data/../etc" },
			[]registrytest.Want{registrytest.Invalid("spec.hostPath.path", "must not contain '..'")}},
		{"bad class", func(pv *corev1.PersistentVolume) { pv.Spec.StorageClassName = "Fast_SSD" },
			[]registrytest.Want{registrytest.Invalid("spec.storageClassName", "")}},
		{"csi without handle", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath, pv.Spec.CSI = nil, &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com"}
		}, []registrytest.Want{registrytest.Required("spec.csi.volumeHandle", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pv := hostPathPV("pv1")
			c.mutate(pv)
			registrytest.ExpectExactly(t, strategyCreate(pvStrategy, pv), c.want...)
		})
	}
}

func TestPVUpdate(t *testing.T) {
	old := hostPathPV("pv1")
	strategyCreate(pvStrategy, old)
	bind := old.DeepCopy()
	bind.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	bind.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("20Gi")
	registrytest.ExpectValid(t, strategyUpdate(pvStrategy, bind, old))

	moved := old.DeepCopy()
	moved.Spec.HostPath.Path = "/elsewhere"
	errs := strategyUpdate(pvStrategy, moved, old)
	registrytest.ExpectExactly(t, errs,
		registrytest.Forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"))

	block := corev1.PersistentVolumeBlock
	mode := old.DeepCopy()
	mode.Spec.VolumeMode = &block
	registrytest.ExpectExactly(t, strategyUpdate(pvStrategy, mode, old), registrytest.Invalid("volumeMode", "field is immutable"))
}

func TestPVTable(t *testing.T) {
	pv := hostPathPV("pv1")
	strategyCreate(pvStrategy, pv)
	pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce}
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	pv.Spec.StorageClassName = "standard"
	pv.Status.Phase = corev1.VolumeBound
	want := []interface{}{"pv1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", pvTable.Row(pv)[9], "Filesystem"}
	if row := pvTable.Row(pv); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v\nwant  %v", row, want)
	}
	names := make([]string, len(pvTable.Columns))
	for i, c := range pvTable.Columns {
		names[i] = strings.ToUpper(c.Name)
	}
	if got := strings.Join(names, " "); got != "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE VOLUMEMODE" {
		t.Errorf("columns = %s", got)
	}
	if accessModesString([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}) != "ROX,RWOP" {
		t.Errorf("access modes order wrong")
	}
}
