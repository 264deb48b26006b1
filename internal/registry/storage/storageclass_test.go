package storage

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		want   []want
	}{
		{"valid", func(sc *storagev1.StorageClass) {
			sc.Parameters = map[string]string{"type": "ssd"}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(zone)}
		}, nil},
		{"upper case provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "Kubernetes.IO/AWS-EBS" }, nil},
		{"no provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "" }, []want{required("provisioner", "")}},
		{"bad provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "a/b/c" }, []want{invalid("provisioner", "")}},
		{"empty parameter key", func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"": "x"} },
			[]want{invalid("parameters", "field can not be empty.")}},
		{"huge parameters", func(sc *storagev1.StorageClass) { sc.Parameters = map[string]string{"k": strings.Repeat("x", 300<<10)} },
			[]want{tooLong("parameters")}},
		{"reclaim policy", func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = &recycle }, []want{notSupported("reclaimPolicy")}},
		{"binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = &bogusMode }, []want{notSupported("volumeBindingMode")}},
		{"no binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = nil }, []want{required("volumeBindingMode", "")}},
		{"topology without values", func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(corev1.TopologySelectorLabelRequirement{Key: "k"})}
		}, []want{required("allowedTopologies[0].matchLabelExpressions[0].values", "")}},
		{"topology duplicates", func(sc *storagev1.StorageClass) {
			dupValues := corev1.TopologySelectorLabelRequirement{Key: "k", Values: []string{"a", "a"}}
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(zone, zone), topo(dupValues), topo(corev1.TopologySelectorLabelRequirement{Key: "k", Values: []string{"a"}})}
		}, []want{
			duplicate("allowedTopologies[0].matchLabelExpressions[1].key"),
			duplicate("allowedTopologies[1].matchLabelExpressions[0].values[1]"),
			duplicate("allowedTopologies[2].matchLabelExpressions"),
		}},
		{"topology bad key", func(sc *storagev1.StorageClass) {
			sc.AllowedTopologies = []corev1.TopologySelectorTerm{topo(corev1.TopologySelectorLabelRequirement{Key: "a b", Values: []string{"x"}})}
		}, []want{invalid("allowedTopologies[0].matchLabelExpressions[0].key", "")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := newClass()
			tc.mutate(sc)
			checkErrs(t, storageClassStrategy.Validate(sc), tc.want...)
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
		want   []want
	}{
		{"expansion and labels", func(sc *storagev1.StorageClass) {
			sc.AllowVolumeExpansion = &yes
			sc.Labels = map[string]string{"a": "b"}
		}, nil},
		{"parameters", func(sc *storagev1.StorageClass) { sc.Parameters["type"] = "hdd" },
			[]want{forbidden("parameters", "updates to parameters are forbidden.")}},
		{"provisioner", func(sc *storagev1.StorageClass) { sc.Provisioner = "other" },
			[]want{forbidden("provisioner", "updates to provisioner are forbidden.")}},
		{"reclaim policy", func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = &retain },
			[]want{forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.")}},
		{"binding mode", func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = &wait },
			[]want{invalid("volumeBindingMode", "field is immutable")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := old.DeepCopy()
			tc.mutate(sc)
			checkErrs(t, storageClassStrategy.ValidateUpdate(sc, old), tc.want...)
		})
	}
	noParams, emptyParams := newClass(), newClass()
	emptyParams.Parameters = map[string]string{}
	checkErrs(t, storageClassStrategy.ValidateUpdate(emptyParams, noParams))
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
