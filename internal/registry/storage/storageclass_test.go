package storage

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func newClass() *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "rancher.io/local-path"}
	storageClassStrategy.Default(sc)
	return sc
}

func TestStorageClassDefault(t *testing.T) {
	sc := &storagev1.StorageClass{Provisioner: "x"}
	storageClassStrategy.Default(sc)
	storageClassStrategy.Default(sc)
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Fatalf("defaults %v %v", *sc.ReclaimPolicy, *sc.VolumeBindingMode)
	}
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	sc = &storagev1.StorageClass{ReclaimPolicy: &retain, VolumeBindingMode: &wait}
	storageClassStrategy.Default(sc)
	if *sc.ReclaimPolicy != retain || *sc.VolumeBindingMode != wait {
		t.Fatal("defaulting overwrote set values")
	}
}

func TestStorageClassValidate(t *testing.T) {
	recycle := corev1.PersistentVolumeReclaimRecycle
	bogusMode := storagev1.VolumeBindingMode("Later")
	topo := func(reqs ...corev1.TopologySelectorLabelRequirement) corev1.TopologySelectorTerm {
		return corev1.TopologySelectorTerm{MatchLabelExpressions: reqs}
	}
	zone := corev1.TopologySelectorLabelRequirement{Key: "topology.kubernetes.io/zone", Values: []string{"a", "b"}}
	cases := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []registrytest.Want
	}{
		{"valid", func(sc *storagev1.StorageClass) {
			sc.Parameters = map[string]string{"type": "ssd"}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(zone)}
		}, nil},
		{"upper case provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "Kubernetes.IO/AWS-EBS" }, nil},
		{"no provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "" }, []registrytest.Want{registrytest.Required("provisioner", "")}},
		{"bad provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" }, []registrytest.Want{registrytest.Invalid("provisioner", "")}},
		{"empty parameter key", func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"": "x"} },
			[]registrytest.Want{registrytest.Invalid("parameters", "field can not be empty.")}},
		{"huge parameters", func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"k": strings.Repeat("x", 300<<10)} },
			[]registrytest.Want{registrytest.TooLong("parameters", "")}},
		{"reclaim policy", func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = &recycle }, []registrytest.Want{registrytest.NotSupported("reclaimPolicy", "")}},
		{"binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = &bogusMode }, []registrytest.Want{registrytest.NotSupported("volumeBindingMode", "")}},
		{"no binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = nil }, []registrytest.Want{registrytest.Required("volumeBindingMode", "")}},
		{"topology without values", func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(corev1.TopologySelectorLabelRequirement{Key: "k"})}
		}, []registrytest.Want{registrytest.Required("allowedTopologies[0].matchLabelExpressions[0].values", "")}},
		{"topology duplicates", func(sc *storagev1.StorageClass) {
			dupValues := corev1.TopologySelectorLabelRequirement{Key: "k", Values: []string{"a", "a"}}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(zone, zone), topo(dupValues), topo(corev1.TopologySelectorLabelRequirement{Key: "k", Values: []string{"a"}})}
		}, []registrytest.Want{
			registrytest.Duplicate("allowedTopologies[0].matchLabelExpressions[1].key", ""),
			registrytest.Duplicate("allowedTopologies[1].matchLabelExpressions[0].values[1]", ""),
			registrytest.Duplicate("allowedTopologies[2].matchLabelExpressions", ""),
		}},
		{"topology bad key", func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(corev1.TopologySelectorLabelRequirement{Key: "a b", Values: []string{"x"}})}
		}, []registrytest.Want{registrytest.Invalid("allowedTopologies[0].matchLabelExpressions[0].key", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := newClass()
			tc.mutate(sc)
			registrytest.ExpectExactly(t, storageClassStrategy.Validate(sc), tc.want...)
		})
	}
}

func TestStorageClassValidateUpdate(t *testing.T) {
	old := newClass()
	old.Parameters = map[string]string{"type": "ssd"}
	retain, wait := corev1.PersistentVolumeReclaimRetain, storagev1.VolumeBindingWaitForFirstConsumer
	yes := true
	cases := []struct {
		name   string
		mutate func(*storagev1.StorageClass)
		want   []registrytest.Want
	}{
		{"expansion and labels", func(sc *storagev1.StorageClass) {
			sc.AllowVolumeExpansion = &yes
			sc.Labels = map[string]string{"a": "b"}
		}, nil},
		{"parameters", func(sc *storagev1.StorageClass) { sc.Parameters["type"] = "hdd" },
			[]registrytest.Want{registrytest.Forbidden("parameters", "updates to parameters are forbidden.")}},
		{"provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "other" },
			[]registrytest.Want{registrytest.Forbidden("provisioner", "updates to provisioner are forbidden.")}},
		{"reclaim policy", func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = &retain },
			[]registrytest.Want{registrytest.Forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")}},
		{"binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = &wait },
			[]registrytest.Want{registrytest.Invalid("volumeBindingMode", "field is immutable")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := old.DeepCopy()
			tc.mutate(sc)
			registrytest.ExpectExactly(t, storageClassStrategy.ValidateUpdate(sc, old), tc.want...)
		})
	}
	noParams, emptyParams := newClass(), newClass()
	emptyParams.Parameters = map[string]string{}
	registrytest.ExpectValid(t, storageClassStrategy.ValidateUpdate(emptyParams, noParams))
}

func TestStorageClassTable(t *testing.T) {
	if n := len(storageClassTable.Columns); n != 6 || storageClassTable.Columns[4].Name != "AllowVolumeExpansion" {
		t.Fatalf("columns %v", storageClassTable.Columns)
	}
	sc := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "local", Annotations: map[string]string{IsDefaultClassAnnotation: "true"}},
		Provisioner: "rancher.io/local-path",
	}
	row := storageClassTable.Row(sc)
	want := []interface{}{"local (default)", "rancher.io/local-path", "Delete", "Immediate", false, "<unknown>"}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row %v, want %v", row, want)
		}
	}
	wait, yes := storagev1.VolumeBindingWaitForFirstConsumer, true
	sc.Annotations = nil
	sc.VolumeBindingMode, sc.AllowVolumeExpansion = &wait, &yes
	row = storageClassTable.Row(sc)
	if row[0] != "local" || row[3] != "WaitForFirstConsumer" || row[4] != true {
		t.Fatalf("row %v", row)
	}
}
