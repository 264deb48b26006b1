package core

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// Namespaces.
//
// Lifecycle, as in Kubernetes:
//   - On create the namespace is Active and spec.finalizers contains
//     "kubernetes" (added if the client did not list it).
//   - An update of the namespace never changes spec.finalizers: the stored
//     list is kept. Only the namespace controller changes it, through the
//     finalize subresource, once it has emptied the namespace; the namespace
//     is removed when, after deletion, both spec.finalizers and
//     metadata.finalizers are empty.
//   - Deleting sets metadata.deletionTimestamp and status.phase Terminating
//     (the API server's delete path). Through /status, phase must be Active
//     without a deletionTimestamp and Terminating with one.
//
// The "kubernetes" finalizer is added in PrepareForCreate, not in Default:
// Default runs on every update, and the finalizer must stay removable.

var namespaceStrategy = registry.Strategy{
	Default:          defaultNamespace,
	PrepareForCreate: prepareNamespaceCreate,
	PrepareForUpdate: prepareNamespaceUpdate,
	Validate:         validateNamespace,
	ValidateStatus:   validateNamespaceStatus,
	NameValidator:    apivalidation.ValidateNamespaceName,
}

// defaultNamespace labels the namespace with its own name
// (kubernetes.io/metadata.name), so that selectors can pick namespaces by
// name, and defaults the phase.
func defaultNamespace(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

// prepareNamespaceCreate starts the namespace Active with the "kubernetes"
// finalizer.
func prepareNamespaceCreate(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// prepareNamespaceUpdate keeps spec.finalizers: it only changes through
// finalize.
func prepareNamespaceUpdate(obj, old runtime.Object) {
	ns, prev := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = append([]corev1.FinalizerName(nil), prev.Spec.Finalizers...)
}

// validateNamespace checks spec.finalizers. (Kubernetes reports these
// errors at "spec.finalizers", without an index.)
func validateNamespace(obj runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	var errs field.ErrorList
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, namespaceFinalizerErrs(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

// namespaceFinalizerErrs: a qualified name, and a domain-qualified one unless
// it is a standard finalizer.
func namespaceFinalizerErrs(name string, path *field.Path) field.ErrorList {
	errs := apivalidation.ValidateFinalizerName(name, path)
	if !strings.Contains(name, "/") {
		switch name {
		case string(corev1.FinalizerKubernetes), metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents:
		default:
			errs = append(errs, field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// validateNamespaceStatus ties the phase to the deletion timestamp. (The
// path is "status.Phase" in Kubernetes.)
func validateNamespaceStatus(obj, _ runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	path := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(path, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(path, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

var namespaceTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Status", "string", 0, "The status of the namespace"),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		ns := obj.(*corev1.Namespace)
		return []interface{}{ns.Name, string(ns.Status.Phase), registry.Age(ns.CreationTimestamp)}
	},
}
