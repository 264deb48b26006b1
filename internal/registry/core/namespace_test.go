package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestNamespaceCreate(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	expectErrs(t, strategyCreate(namespaceStrategy, ns), nil)
	if ns.Labels[corev1.LabelMetadataName] != "team-a" {
		t.Errorf("labels = %v", ns.Labels)
	}
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("phase = %q", ns.Status.Phase)
	}
	if !reflect.DeepEqual(ns.Spec.Finalizers, []corev1.FinalizerName{corev1.FinalizerKubernetes}) {
		t.Errorf("finalizers = %v", ns.Spec.Finalizers)
	}

	custom := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/cleanup"}}}
	expectErrs(t, strategyCreate(namespaceStrategy, custom), nil)
	if len(custom.Spec.Finalizers) != 2 || custom.Spec.Finalizers[1] != corev1.FinalizerKubernetes {
		t.Errorf("finalizers = %v", custom.Spec.Finalizers)
	}

	if errs := namespaceStrategy.NameValidator("Team.A", false); len(errs) == 0 {
		t.Errorf("namespace names must be DNS-1123 labels")
	}
}

func TestNamespaceValidate(t *testing.T) {
	cases := []struct {
		name       string
		finalizers []corev1.FinalizerName
		want       []errWant
	}{
		{"standard", []corev1.FinalizerName{"kubernetes"}, nil},
		{"qualified", []corev1.FinalizerName{"example.com/x"}, nil},
		{"unqualified", []corev1.FinalizerName{"custom"}, []errWant{
			{field.ErrorTypeInvalid, "spec.finalizers", "name is neither a standard finalizer name nor is it fully qualified"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NamespaceSpec{Finalizers: c.finalizers}}
			expectErrs(t, namespaceStrategy.Validate(ns), c.want)
		})
	}
}

func TestNamespaceUpdateKeepsFinalizers(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	strategyCreate(namespaceStrategy, old)
	ns := old.DeepCopy()
	ns.Spec.Finalizers = nil
	ns.Labels["team"] = "a"
	expectErrs(t, strategyUpdate(namespaceStrategy, ns, old), nil)
	if !reflect.DeepEqual(ns.Spec.Finalizers, old.Spec.Finalizers) {
		t.Errorf("finalizers changed by update: %v", ns.Spec.Finalizers)
	}
}

func TestNamespaceValidateStatus(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name     string
		deleting bool
		phase    corev1.NamespacePhase
		want     []errWant
	}{
		{"active", false, corev1.NamespaceActive, nil},
		{"terminating while deleted", true, corev1.NamespaceTerminating, nil},
		{"terminating too early", false, corev1.NamespaceTerminating, []errWant{{field.ErrorTypeInvalid, "status.Phase", "may only be 'Active' if `deletionTimestamp` is empty"}}},
		{"active while deleted", true, corev1.NamespaceActive, []errWant{{field.ErrorTypeInvalid, "status.Phase", "may only be 'Terminating'"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NamespaceStatus{Phase: c.phase}}
			if c.deleting {
				ns.DeletionTimestamp = &now
			}
			expectErrs(t, namespaceStrategy.ValidateStatus(ns, ns), c.want)
		})
	}
}

func TestNamespaceTable(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	want := []interface{}{"kube-system", "Active", "<unknown>"}
	if row := namespaceTable.Row(ns); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
}
