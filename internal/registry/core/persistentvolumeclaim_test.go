package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func claim(size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

func TestPVCDefaultAndCreate(t *testing.T) {
	pvc := claim("1Gi")
	registrytest.ExpectValid(t, strategyCreate(pvcStrategy, pvc))
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("defaults: mode %v phase %q", pvc.Spec.VolumeMode, pvc.Status.Phase)
	}
}

func TestPVCValidate(t *testing.T) {
	apiGroup := "snapshot.storage.k8s.io"
	cases := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaim)
		want   []registrytest.Want
	}{
		{"valid", func(c *corev1.PersistentVolumeClaim) {}, nil},
		{"valid snapshot source", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: &apiGroup, Kind: "VolumeSnapshot", Name: "snap"}
		}, nil},
		{"no access modes", func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = nil },
			[]registrytest.Want{registrytest.Required("spec.accessModes", "at least 1 access mode is required")}},
		{"no storage request", func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil },
			[]registrytest.Want{registrytest.Required("spec.resources[storage]", "")}},
		{"zero storage", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		},
			[]registrytest.Want{registrytest.Invalid("spec.resources[storage]", "must be greater than zero")}},
		{"bad volume mode", func(c *corev1.PersistentVolumeClaim) { m := corev1.PersistentVolumeMode("Raw"); c.Spec.VolumeMode = &m },
			[]registrytest.Want{registrytest.NotSupported("spec.volumeMode", "")}},
		{"core data source of wrong kind", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Pod", Name: "p"}
		}, []registrytest.Want{registrytest.Invalid("spec.dataSource", "must be 'PersistentVolumeClaim' when referencing the default apiGroup")}},
		{"bad selector", func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b c"}}
		}, []registrytest.Want{registrytest.Invalid("spec.selector.matchLabels", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pvc := claim("1Gi")
			c.mutate(pvc)
			registrytest.ExpectExactly(t, strategyCreate(pvcStrategy, pvc), c.want...)
		})
	}
}

func TestPVCUpdate(t *testing.T) {
	stored := func(bound bool) *corev1.PersistentVolumeClaim {
		pvc := claim("10Gi")
		strategyCreate(pvcStrategy, pvc)
		if bound {
			pvc.Spec.VolumeName = "pv1"
			pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}
		}
		return pvc
	}
	class := "fast"
	cases := []struct {
		name   string
		bound  bool
		mutate func(*corev1.PersistentVolumeClaim)
		want   []registrytest.Want
	}{
		{"bind once", false, func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv9" }, nil},
		{"rebind", true, func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv9" },
			[]registrytest.Want{registrytest.Forbidden("spec", "spec is immutable after creation")}},
		{"grow bound", true, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("20Gi")
		}, nil},
		{"shrink bound", true, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("5Gi")
		}, []registrytest.Want{registrytest.Forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")}},
		{"grow unbound", false, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("20Gi")
		}, []registrytest.Want{registrytest.Forbidden("spec", "except resources.requests and volumeAttributesClassName for bound claims")}},
		{"set class from nil", false, func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &class }, nil},
		{"access modes", true, func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, []registrytest.Want{registrytest.Forbidden("spec", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := stored(c.bound)
			pvc := old.DeepCopy()
			c.mutate(pvc)
			registrytest.ExpectExactly(t, strategyUpdate(pvcStrategy, pvc, old), c.want...)
		})
	}
}

// TestPVCRecoverExpansion: after a failed expansion (request above the
// capacity) the request may come back down, but not to the capacity.
func TestPVCRecoverExpansion(t *testing.T) {
	old := claim("20Gi")
	strategyCreate(pvcStrategy, old)
	old.Spec.VolumeName = "pv1"
	old.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}
	for size, want := range map[string][]registrytest.Want{
		"15Gi": nil,
		"10Gi": {registrytest.Forbidden("spec.resources.requests.storage", "field can not be less than status.capacity")},
	} {
		pvc := old.DeepCopy()
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
		registrytest.ExpectExactly(t, strategyUpdate(pvcStrategy, pvc, old), want...)
	}
}

func TestPVCTable(t *testing.T) {
	pvc := claim("1Gi")
	strategyCreate(pvcStrategy, pvc)
	want := []interface{}{"data", "Pending", "", "", "", "", "<unset>", "<unknown>", "Filesystem"}
	if row := pvcTable.Row(pvc); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %#v\nwant  %#v", row, want)
	}
	pvc.Spec.VolumeName = "pv1"
	pvc.Spec.StorageClassName = &[]string{"standard"}[0]
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}
	want = []interface{}{"data", "Bound", "pv1", "2Gi", "RWO", "standard", "<unset>", "<unknown>", "Filesystem"}
	if row := pvcTable.Row(pvc); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %#v\nwant  %#v", row, want)
	}
}
