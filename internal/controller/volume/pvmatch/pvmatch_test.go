package pvmatch

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pv(name, size string, terms ...corev1.NodeSelectorTerm) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	if len(terms) > 0 {
		v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	return v
}

func term(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func claim(size string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns", UID: "u1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

func TestNodeAffinityAllows(t *testing.T) {
	labels := map[string]string{"kubernetes.io/hostname": "n1", "zone": "a", "disks": "4"}
	cases := []struct {
		name  string
		terms []corev1.NodeSelectorTerm
		want  bool
	}{
		{"no affinity", nil, true},
		{"In", []corev1.NodeSelectorTerm{term("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "n1")}, true},
		{"In other node", []corev1.NodeSelectorTerm{term("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "n2")}, false},
		{"NotIn", []corev1.NodeSelectorTerm{term("zone", corev1.NodeSelectorOpNotIn, "b")}, true},
		{"DoesNotExist", []corev1.NodeSelectorTerm{term("zone", corev1.NodeSelectorOpDoesNotExist)}, false},
		{"Gt", []corev1.NodeSelectorTerm{term("disks", corev1.NodeSelectorOpGt, "3")}, true},
		{"Lt", []corev1.NodeSelectorTerm{term("disks", corev1.NodeSelectorOpLt, "3")}, false},
		{"terms are ORed", []corev1.NodeSelectorTerm{term("zone", corev1.NodeSelectorOpIn, "b"), term("zone", corev1.NodeSelectorOpIn, "a")}, true},
		{"empty term matches nothing", []corev1.NodeSelectorTerm{{}}, false},
		{"bad operator", []corev1.NodeSelectorTerm{term("zone", "Near", "a")}, false},
		{"matchFields are not checked", []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}},
			MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"other"}}},
		}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NodeAffinityAllows(pv("v", "1Gi", tc.terms...), labels); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFindWithNode(t *testing.T) {
	n1 := map[string]string{"kubernetes.io/hostname": "n1"}
	onN1 := pv("on-n1", "5Gi", term("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "n1"))
	onN2 := pv("on-n2", "1Gi", term("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "n2"))
	anywhere := pv("anywhere", "9Gi")
	pvs := []*corev1.PersistentVolume{onN1, onN2, anywhere}

	if got := Find(claim("1Gi"), pvs, Options{}); got != onN2 {
		t.Errorf("without a node: %v, want on-n2 (smallest)", got)
	}
	if got := Find(claim("1Gi"), pvs, Options{NodeLabels: n1}); got != onN1 {
		t.Errorf("on n1: %v, want on-n1", got)
	}
	if got := Find(claim("1Gi"), pvs, Options{NodeLabels: n1, Skip: func(n string) bool { return n == "on-n1" }}); got != anywhere {
		t.Errorf("on n1 skipping on-n1: %v, want anywhere", got)
	}
	if got := Find(claim("1Gi"), pvs, Options{DelayBinding: true}); got != nil {
		t.Errorf("delayed binding without a node: %v, want none", got)
	}
	// A volume pre-bound to the claim but unreachable from the node wins
	// nothing: the claim cannot be served there.
	pre := pv("pre", "1Gi", term("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "n2"))
	pre.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "ns", Name: "data"}
	withPre := append([]*corev1.PersistentVolume{pre}, pvs...)
	if got := Find(claim("1Gi"), withPre, Options{NodeLabels: n1}); got != nil {
		t.Errorf("pre-bound elsewhere: %v, want none", got)
	}
	if got := Find(claim("1Gi"), withPre, Options{DelayBinding: true}); got != pre {
		t.Errorf("pre-bound with delayed binding: %v, want pre", got)
	}
}

func TestSatisfies(t *testing.T) {
	deleting := pv("v", "1Gi")
	deleting.DeletionTimestamp = &metav1.Time{}
	block := pv("v", "1Gi")
	mode := corev1.PersistentVolumeBlock
	block.Spec.VolumeMode = &mode
	classy := pv("v", "1Gi")
	classy.Spec.StorageClassName = "fast"
	cases := []struct {
		pv   *corev1.PersistentVolume
		want error
	}{
		{pv("v", "1Gi"), nil},
		{deleting, ErrMarkedForDeleted},
		{pv("v", "999Mi"), ErrTooSmall},
		{classy, ErrClassMismatch},
		{block, ErrVolumeMode},
	}
	for _, tc := range cases {
		if err := Satisfies(tc.pv, claim("1Gi")); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.pv.Spec, err, tc.want)
		}
	}
	rox := claim("1Gi")
	rox.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
	if err := Satisfies(pv("v", "1Gi"), rox); !errors.Is(err, ErrAccessMode) {
		t.Errorf("access modes: %v", err)
	}
}

func TestClaimClass(t *testing.T) {
	c := claim("1Gi")
	if ClaimClass(c) != "" || HasClass(c) {
		t.Error("no class")
	}
	fast := "fast"
	c.Spec.StorageClassName = &fast
	if ClaimClass(c) != "fast" || !HasClass(c) {
		t.Error("spec class")
	}
	c.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "beta"}
	if ClaimClass(c) != "beta" {
		t.Error("the beta annotation wins")
	}
}
