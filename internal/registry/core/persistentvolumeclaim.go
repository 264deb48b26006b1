package core

import (
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// PersistentVolumeClaims. A claim's spec is fixed after creation, except
// that the volume controller binds it once (spec.volumeName) and that bound
// claims may be resized.

var pvcStrategy = registry.Strategy{
	Default:          defaultPVC,
	PrepareForCreate: preparePVCCreate,
	Validate:         validatePVC,
	ValidateUpdate:   validatePVCUpdate,
	ValidateStatus:   validatePVCStatus,
}

// defaultPVC: volume mode Filesystem, phase Pending.
func defaultPVC(obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	if pvc.Spec.VolumeMode == nil {
		mode := corev1.PersistentVolumeFilesystem
		pvc.Spec.VolumeMode = &mode
	}
	roundUpQuantities(pvc.Spec.Resources.Requests)
	roundUpQuantities(pvc.Spec.Resources.Limits)
}

func preparePVCCreate(obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
}

// validatePVC checks the claim's spec.
func validatePVC(obj runtime.Object) field.ErrorList {
	return pvcSpecErrs(&obj.(*corev1.PersistentVolumeClaim).Spec, field.NewPath("spec"))
}

// pvcSpecErrs checks access modes, the storage request (required,
// positive), classes, volume mode and data sources. (Kubernetes reports the
// request at "spec.resources[storage]".)
func pvcSpecErrs(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	errs := accessModeErrs(spec.AccessModes, p.Child("accessModes"), "at least 1 access mode is required")
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	storagePath := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if e := quantityPositiveErrs(q, storagePath); len(e) > 0 {
		errs = append(errs, e...)
	} else {
		errs = append(errs, quantityForResourceErrs(corev1.ResourceStorage, q, storagePath)...)
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, dns1123SubdomainErrs(*c, p.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !inValues(string(*m), volumeModeNames) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), *m, volumeModeNames))
	}
	errs = append(errs, pvcDataSourceErrs(spec, p)...)
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, dns1123SubdomainErrs(*c, p.Child("volumeAttributesClassName"))...)
	}
	return errs
}

// pvcDataSourceErrs checks dataSource and dataSourceRef, which must agree
// unless the reference points to another namespace.
func pvcDataSourceErrs(spec *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, dataSourceErrs(ds.Name, ds.Kind, ds.APIGroup, p.Child("dataSource"))...)
	}
	ref := spec.DataSourceRef
	if ref != nil {
		errs = append(errs, dataSourceErrs(ref.Name, ref.Kind, ref.APIGroup, p.Child("dataSourceRef"))...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			errs = append(errs, dns1123LabelErrs(*ref.Namespace, p.Child("dataSourceRef", "namespace"))...)
		}
	}
	if ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(p, p.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if ds.Kind != ref.Kind || ds.Name != ref.Name || !sameOptionalString(ds.APIGroup, ref.APIGroup) {
			errs = append(errs, field.Invalid(p, p.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	return errs
}

func dataSourceErrs(name, kind string, group *string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	g := ""
	if group != nil {
		g = *group
	}
	if g == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(p, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if g != "" {
		errs = append(errs, dns1123SubdomainErrs(g, p.Child("apiGroup"))...)
	}
	return errs
}

// validatePVCUpdate: the spec is immutable except for binding an unbound
// claim (volumeName), moving the storage class from the beta annotation to
// the field, and resizing or changing the attributes class of a bound claim.
// A request may shrink only while it stays above status.capacity (recovery
// from a failed expansion).
func validatePVCUpdate(obj, old runtime.Object) field.ErrorList {
	pvc, prev := obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim)
	newSpec, oldSpec := pvc.Spec.DeepCopy(), prev.Spec.DeepCopy()
	var errs field.ErrorList
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	errs = append(errs, pvcStorageClassTransition(pvc, prev, newSpec, oldSpec)...)
	if pvc.Status.Phase == corev1.ClaimBound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = prev.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		if newSpec.VolumeAttributesClassName != nil {
			newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
		}
	}
	if !apiequality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+cmp.Diff(oldSpec, newSpec)))
	}
	oldSize := prev.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := prev.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, immutableErrs(pvc.Spec.VolumeMode, prev.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if prev.Spec.VolumeAttributesClassName != nil {
		vacPath := field.NewPath("spec", "volumeAttributesClassName")
		if pvc.Spec.VolumeAttributesClassName == nil {
			errs = append(errs, field.Forbidden(vacPath, "update from non-nil value to nil is forbidden"))
		} else if *pvc.Spec.VolumeAttributesClassName == "" {
			errs = append(errs, field.Forbidden(vacPath, "update from non-nil value to an empty string is forbidden"))
		}
	}
	return errs
}

// pvcStorageClassTransition allows setting spec.storageClassName to the
// class named by the (older) beta annotation, or from nil; the annotation
// itself never changes. newSpec and oldSpec are adjusted for comparison.
func pvcStorageClassTransition(pvc, prev *corev1.PersistentVolumeClaim, newSpec, oldSpec *corev1.PersistentVolumeClaimSpec) field.ErrorList {
	key := corev1.BetaStorageClassAnnotation
	oldBeta, oldHas := prev.Annotations[key]
	newBeta, newHas := pvc.Annotations[key]
	newName := newSpec.StorageClassName
	if oldHas && oldSpec.StorageClassName == nil && newName != nil && *newName == oldBeta && (!newHas || newBeta == oldBeta) {
		newSpec.StorageClassName = nil
		return nil
	}
	var errs field.ErrorList
	if newBeta != oldBeta {
		errs = append(errs, field.Invalid(field.NewPath("metadata").Child("annotations", key), newBeta, "field is immutable"))
	}
	if newName != nil && prev.Spec.StorageClassName == nil && (!oldHas || *newName == oldBeta) {
		newSpec.StorageClassName = oldSpec.StorageClassName
	}
	return errs
}

// validatePVCStatus checks the reported capacity and allocation.
func validatePVCStatus(obj, _ runtime.Object) field.ErrorList {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	var errs field.ErrorList
	if len(pvc.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(field.NewPath("Spec", "accessModes"), ""))
	}
	capPath := field.NewPath("status", "capacity")
	for name, q := range pvc.Status.Capacity {
		errs = append(errs, quantityBasicErrs(q, capPath.Key(string(name)))...)
	}
	allocPath := field.NewPath("status", "allocatedResources")
	for name, q := range pvc.Status.AllocatedResources {
		if e := quantityBasicErrs(q, allocPath.Key(string(name))); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, quantityForResourceErrs(corev1.ResourceStorage, q, allocPath.Key(string(name)))...)
		}
	}
	return errs
}

var pvcTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Status", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]),
		registry.Column("Volume", "string", 0, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
		registry.Column("Capacity", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]),
		registry.Column("Access Modes", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]),
		registry.Column("StorageClass", "string", 0, "StorageClass of the pvc"),
		registry.Column("VolumeAttributesClass", "string", 0, "VolumeAttributesClass of the pvc"),
		registry.AgeColumn,
		registry.Column("VolumeMode", "string", 1, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		pvc := obj.(*corev1.PersistentVolumeClaim)
		phase := string(pvc.Status.Phase)
		if pvc.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		capacity, modes := "", ""
		if pvc.Spec.VolumeName != "" {
			q := pvc.Status.Capacity[corev1.ResourceStorage]
			capacity, modes = q.String(), accessModesString(pvc.Status.AccessModes)
		}
		class := ""
		if beta, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			class = beta
		} else if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		return []interface{}{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
			unsetIfNil(pvc.Spec.VolumeAttributesClassName), registry.Age(pvc.CreationTimestamp),
			volumeModeString(pvc.Spec.VolumeMode)}
	},
}
