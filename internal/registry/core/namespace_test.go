package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestNamespaceCreate(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	registrytest.ExpectValid(t, strategyCreate(namespaceStrategy, ns))
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
	registrytest.ExpectValid(t, strategyCreate(namespaceStrategy, custom))
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
		want       []registrytest.Want
	}{
		{"standard", []corev1.FinalizerName{"kubernetes"}, nil},
		{"qualified", []corev1.FinalizerName{"example.com/x"}, nil},
		{"unqualified", []corev1.FinalizerName{"custom"}, []registrytest.Want{
			registrytest.Invalid("spec.finalizers", "name is neither a standard finalizer name nor is it fully qualified")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NamespaceSpec{Finalizers: c.finalizers}}
			registrytest.ExpectExactly(t, namespaceStrategy.Validate(ns), c.want...)
		})
	}
}

func TestNamespaceUpdateKeepsFinalizers(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	strategyCreate(namespaceStrategy, old)
	ns := old.DeepCopy()
	ns.Spec.Finalizers = nil
	ns.Labels["team"] = "a"
	registrytest.ExpectValid(t, strategyUpdate(namespaceStrategy, ns, old))
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
		want     []registrytest.Want
	}{
		{"active", false, corev1.NamespaceActive, nil},
		{"terminating while deleted", true, corev1.NamespaceTerminating, nil},
		{"terminating too early", false, corev1.NamespaceTerminating, []registrytest.Want{registrytest.Invalid("status.Phase", "may only be 'Active' if `deletionTimestamp` is empty")}},
		{"active while deleted", true, corev1.NamespaceActive, []registrytest.Want{registrytest.Invalid("status.Phase", "may only be 'Terminating'")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NamespaceStatus{Phase: c.phase}}
			if c.deleting {
				ns.DeletionTimestamp = &now
			}
			registrytest.ExpectExactly(t, namespaceStrategy.ValidateStatus(ns, ns), c.want...)
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
