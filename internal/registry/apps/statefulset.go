package apps

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

var statefulSetStrategy = registry.Strategy{
	Default:        func(obj runtime.Object) { defaultStatefulSet(obj.(*appsv1.StatefulSet)) },
	Validate:       func(obj runtime.Object) field.ErrorList { return validateStatefulSet(obj.(*appsv1.StatefulSet)) },
	ValidateUpdate: validateStatefulSetUpdate,
	ValidateStatus: func(obj, old runtime.Object) field.ErrorList {
		s, o := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
		errs := validateStatefulSetStatus(&s.Status, field.NewPath("status"))
		return append(errs, decrementedCollisionCount(s.Status.CollisionCount, o.Status.CollisionCount)...)
	},
	// Pod names are <name>-<ordinal> and must be DNS labels.
	NameValidator: apivalidation.NameIsDNSLabel,
}

// defaultStatefulSet applies the apps/v1 StatefulSet defaults, and the
// PersistentVolumeClaim defaults to the claim templates.
func defaultStatefulSet(s *appsv1.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		ru != nil && ru.Partition == nil {
		ru.Partition = newInt32(0)
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = newInt32(1)
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = newInt32(10)
	}
	core.DefaultPodTemplateSpec(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		defaultClaimTemplate(&spec.VolumeClaimTemplates[i])
	}
}

func defaultClaimTemplate(c *corev1.PersistentVolumeClaim) {
	c.APIVersion, c.Kind = "v1", "PersistentVolumeClaim"
	if c.Spec.VolumeMode == nil {
		mode := corev1.PersistentVolumeFilesystem
		c.Spec.VolumeMode = &mode
	}
	if c.Status.Phase == "" {
		c.Status.Phase = corev1.ClaimPending
	}
}

func validateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	spec, p := &s.Spec, field.NewPath("spec")
	errs := validatePodManagementPolicy(spec.PodManagementPolicy, p.Child("podManagementPolicy"))
	errs = append(errs, validateStatefulSetUpdateStrategy(&spec.UpdateStrategy, p.Child("updateStrategy"))...)
	if rp := spec.PersistentVolumeClaimRetentionPolicy; rp != nil {
		rpp := p.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetentionPolicyType(rp.WhenDeleted, rpp.Child("whenDeleted"))...)
		errs = append(errs, validateRetentionPolicyType(rp.WhenScaled, rpp.Child("whenScaled"))...)
	}
	for i := range spec.VolumeClaimTemplates {
		errs = append(errs, validateClaimTemplateSpec(&spec.VolumeClaimTemplates[i].Spec,
			p.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
	}
	errs = append(errs, nonNegative(int64(replicas(spec.Replicas)), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, nonNegative(int64(spec.Ordinals.Start), p.Child("ordinals", "start"))...)
	}
	if spec.ServiceName != "" {
		for _, msg := range utilvalidation.IsDNS1123Label(spec.ServiceName) {
			errs = append(errs, field.Invalid(p.Child("serviceName"), spec.ServiceName, msg))
		}
	}
	errs = append(errs, validateControllerSelector(spec.Selector, "statefulset", p.Child("selector"))...)
	return append(errs, validateStatefulSetTemplate(spec, p)...)
}

func validatePodManagementPolicy(v appsv1.PodManagementPolicyType, p *field.Path) field.ErrorList {
	switch v {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
		return nil
	}
	return field.ErrorList{field.Invalid(p, v, fmt.Sprintf("must be '%s' or '%s'",
		appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement))}
}

func validateStatefulSetUpdateStrategy(s *appsv1.StatefulSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(p.Child("rollingUpdate"), s.RollingUpdate,
				"only allowed for updateStrategy 'RollingUpdate'")}
		}
		return nil
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if s.RollingUpdate == nil {
			return nil
		}
		return validateStatefulSetRollingUpdate(s.RollingUpdate, p.Child("rollingUpdate"))
	}
	return field.ErrorList{field.Invalid(p, s, "must be 'RollingUpdate' or 'OnDelete'")}
}

func validateStatefulSetRollingUpdate(ru *appsv1.RollingUpdateStatefulSetStrategy, p *field.Path) field.ErrorList {
	errs := nonNegativePtr(ru.Partition, p.Child("partition"))
	if ru.MaxUnavailable != nil {
		mp := p.Child("maxUnavailable")
		errs = append(errs, ValidateIntOrPercent(*ru.MaxUnavailable, mp)...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(mp, *ru.MaxUnavailable, "cannot be 0"))
		}
		errs = append(errs, ValidateAtMost100Percent(*ru.MaxUnavailable, mp)...)
	}
	return errs
}

func validateRetentionPolicyType(v appsv1.PersistentVolumeClaimRetentionPolicyType, p *field.Path) field.ErrorList {
	switch v {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, v, []string{
		string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType),
		string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

var supportedAccessModes = []string{
	string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany),
	string(corev1.ReadWriteOnce), string(corev1.ReadWriteOncePod),
}

// validateClaimTemplateSpec checks the parts of a claim template's spec the
// claims will need: access modes, a positive storage request, a valid class
// name and volume mode.
func validateClaimTemplateSpec(s *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), "at least 1 access mode is required"))
	}
	for _, m := range s.AccessModes {
		if !slices.Contains(supportedAccessModes, string(m)) {
			errs = append(errs, field.NotSupported(p.Child("accessModes"), m, supportedAccessModes))
		}
		if m == corev1.ReadWriteOncePod && len(s.AccessModes) > 1 {
			errs = append(errs, field.Forbidden(p.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
		}
	}
	sp := p.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(sp, ""))
	} else if q.Cmp(resource.Quantity{}) <= 0 {
		errs = append(errs, field.Invalid(sp, q.String(), "must be greater than zero"))
	}
	if s.StorageClassName != nil && *s.StorageClassName != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*s.StorageClassName, false) {
			errs = append(errs, field.Invalid(p.Child("storageClassName"), *s.StorageClassName, msg))
		}
	}
	modes := []string{string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem)}
	if s.VolumeMode != nil && !slices.Contains(modes, string(*s.VolumeMode)) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), *s.VolumeMode, modes))
	}
	return errs
}

// validateStatefulSetTemplate checks the template against the selector and
// as a pod template. The claim templates become volumes of every pod (the
// controller adds them), so they are added before the pod rules run and
// mounts of claims resolve.
func validateStatefulSetTemplate(spec *appsv1.StatefulSetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	tp := p.Child("template")
	sel, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), spec.Selector, ""))
	} else {
		errs = append(errs, selectorMatchesTemplate(sel, &spec.Template, tp)...)
		errs = append(errs, core.ValidatePodTemplateSpec(withClaimVolumes(&spec.Template, spec.VolumeClaimTemplates), tp)...)
	}
	return append(errs, alwaysRestartNoDeadline(&spec.Template, "StatefulSet", tp)...)
}

// withClaimVolumes returns a copy of t whose volumes include one claim
// volume per claim template, replacing template volumes of the same name.
func withClaimVolumes(t *corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim) *corev1.PodTemplateSpec {
	if len(claims) == 0 {
		return t
	}
	out := t.DeepCopy()
	for _, c := range claims {
		v := corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}}
		replaced := false
		for i := range out.Spec.Volumes {
			if out.Spec.Volumes[i].Name == c.Name {
				out.Spec.Volumes[i], replaced = v, true
			}
		}
		if !replaced {
			out.Spec.Volumes = append(out.Spec.Volumes, v)
		}
	}
	return out
}

// statefulSetUpdateMessage lists the mutable fields, as Kubernetes says it.
const statefulSetUpdateMessage = "updates to statefulset spec for fields other than 'replicas', 'ordinals', " +
	"'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' " +
	"and 'minReadySeconds' are forbidden"

// validateStatefulSetUpdate forbids changes to the spec but for the fields a
// running set can take.
func validateStatefulSetUpdate(obj, old runtime.Object) field.ErrorList {
	s, o := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	clone := s.Spec.DeepCopy()
	clone.Replicas = o.Spec.Replicas
	clone.Ordinals = o.Spec.Ordinals
	clone.Template = o.Spec.Template
	clone.UpdateStrategy = o.Spec.UpdateStrategy
	clone.RevisionHistoryLimit = o.Spec.RevisionHistoryLimit
	clone.PersistentVolumeClaimRetentionPolicy = o.Spec.PersistentVolumeClaimRetentionPolicy
	clone.MinReadySeconds = o.Spec.MinReadySeconds
	// The claim templates' apiVersion and kind are defaults, not state: a
	// stored copy may lack them (protobuf has no place for them).
	prev := o.Spec.DeepCopy()
	for _, spec := range []*appsv1.StatefulSetSpec{clone, prev} {
		for i := range spec.VolumeClaimTemplates {
			spec.VolumeClaimTemplates[i].TypeMeta = metav1.TypeMeta{}
		}
	}
	if !apiequality.Semantic.DeepEqual(*clone, *prev) {
		return field.ErrorList{field.Forbidden(field.NewPath("spec"), statefulSetUpdateMessage)}
	}
	return nil
}

func validateStatefulSetStatus(s *appsv1.StatefulSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegativePtr(s.CollisionCount, p.Child("collisionCount"))...)
	for _, c := range []struct {
		name string
		v    int32
	}{{"readyReplicas", s.ReadyReplicas}, {"currentReplicas", s.CurrentReplicas},
		{"updatedReplicas", s.UpdatedReplicas}, {"availableReplicas", s.AvailableReplicas}} {
		if c.v > s.Replicas {
			errs = append(errs, field.Invalid(p.Child(c.name), c.v, cannotExceedReplicas))
		}
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas,
			"cannot be greater than status.readyReplicas"))
	}
	return errs
}

var statefulSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Ready", "string", 0, "Number of the pod with ready state"),
		registry.AgeColumn,
		registry.Column("Containers", "string", 1, containersDescription),
		registry.Column("Images", "string", 1, imagesDescription),
	},
	Row: func(obj runtime.Object) []interface{} {
		s := obj.(*appsv1.StatefulSet)
		names, images := containerCells(&s.Spec.Template)
		return []interface{}{
			s.Name,
			fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)),
			registry.Age(s.CreationTimestamp),
			names, images,
		}
	},
}
