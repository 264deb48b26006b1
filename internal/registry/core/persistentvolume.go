package core

import (
	"path"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// PersistentVolumes. Binding to claims and provisioning are controllers'
// work; this file defaults, validates and prints.

var pvStrategy = registry.Strategy{
	Default:          defaultPV,
	PrepareForCreate: preparePVCreate,
	Validate:         validatePV,
	ValidateUpdate:   validatePVUpdate,
}

var (
	accessModeNames   = []string{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}
	reclaimPolicies   = []string{"Delete", "Recycle", "Retain"}
	volumeModeNames   = []string{"Block", "Filesystem"}
	msgMoreThanOneVol = "may not specify more than 1 volume type"
)

// defaultPV: reclaim policy Retain, volume mode Filesystem, phase Pending.
func defaultPV(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		mode := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &mode
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Type == nil {
		unset := corev1.HostPathUnset
		hp.Type = &unset
	}
	roundUpQuantities(pv.Spec.Capacity)
}

// preparePVCreate starts every volume Pending; the volume controller moves
// it to Available.
func preparePVCreate(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	now := metav1.NewTime(time.Now())
	pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
}

// validatePV checks access modes, capacity (storage only), reclaim policy,
// exactly one volume source, node affinity and classes.
func validatePV(obj runtime.Object) field.ErrorList {
	pv := obj.(*corev1.PersistentVolume)
	spec := &pv.Spec
	specPath := field.NewPath("spec")
	errs := accessModeErrs(spec.AccessModes, specPath.Child("accessModes"), "")
	errs = append(errs, pvCapacityErrs(spec.Capacity, specPath.Child("capacity"))...)
	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !inValues(string(p), reclaimPolicies) {
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), p, reclaimPolicies))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, pvNodeAffinityErrs(spec.NodeAffinity, specPath.Child("nodeAffinity"))...)
	}
	errs = append(errs, pvSourceErrs(spec, specPath)...)
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(specPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		errs = append(errs, dns1123SubdomainErrs(spec.StorageClassName, specPath.Child("storageClassName"))...)
	}
	if m := spec.VolumeMode; m != nil && !inValues(string(*m), volumeModeNames) {
		errs = append(errs, field.NotSupported(specPath.Child("volumeMode"), *m, volumeModeNames))
	}
	if vac := spec.VolumeAttributesClassName; vac != nil {
		vacPath := specPath.Child("volumeAttributesClassName")
		if *vac == "" {
			errs = append(errs, field.Required(vacPath, "an empty string is disallowed"))
		} else {
			errs = append(errs, dns1123SubdomainErrs(*vac, vacPath)...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(specPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// accessModeErrs: at least one known mode; ReadWriteOncePod stands alone.
func accessModeErrs(modes []corev1.PersistentVolumeAccessMode, p *field.Path, requiredDetail string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(p, requiredDetail))
	}
	oncePod, others := false, false
	for _, m := range modes {
		switch {
		case !inValues(string(m), accessModeNames):
			errs = append(errs, field.NotSupported(p, m, accessModeNames))
		case m == corev1.ReadWriteOncePod:
			oncePod = true
		default:
			others = true
		}
	}
	if oncePod && others {
		errs = append(errs, field.Forbidden(p, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// pvCapacityErrs: capacity holds storage, and only storage, positive.
func pvCapacityErrs(capacity corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(capacity) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	if _, ok := capacity[corev1.ResourceStorage]; !ok || len(capacity) > 1 {
		errs = append(errs, field.NotSupported(p, capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for name, q := range capacity {
		errs = append(errs, quantityBasicErrs(q, p.Key(string(name)))...)
		errs = append(errs, quantityPositiveErrs(q, p.Key(string(name)))...)
	}
	return errs
}

// pvSource is one of the volume source fields of a PV spec.
type pvSource struct {
	name  string // JSON name, for "more than 1" errors
	set   bool
	check func() field.ErrorList
}

// pvSources lists the sources in Kubernetes' order, with checks for the
// commonly used ones (the others are only counted).
func pvSources(s *corev1.PersistentVolumeSpec, specPath *field.Path) []pvSource {
	return []pvSource{
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return hostPathSourceErrs(s.HostPath, specPath.Child("hostPath")) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, nil},
		{"glusterfs", s.Glusterfs != nil, nil},
		{"flocker", s.Flocker != nil, nil},
		{"nfs", s.NFS != nil, func() field.ErrorList { return nfsSourceErrs(s.NFS, specPath.Child("nfs")) }},
		{"rbd", s.RBD != nil, nil},
		{"quobyte", s.Quobyte != nil, nil},
		{"cephFS", s.CephFS != nil, nil},
		{"iscsi", s.ISCSI != nil, func() field.ErrorList { return iscsiSourceErrs(s.ISCSI, specPath.Child("iscsi")) }},
		{"cinder", s.Cinder != nil, nil},
		{"fc", s.FC != nil, nil},
		{"flexVolume", s.FlexVolume != nil, nil},
		{"azureFile", s.AzureFile != nil, nil},
		{"vsphereVolume", s.VsphereVolume != nil, nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, nil},
		{"portworxVolume", s.PortworxVolume != nil, nil},
		{"azureDisk", s.AzureDisk != nil, nil},
		{"scaleIO", s.ScaleIO != nil, nil},
		{"local", s.Local != nil, func() field.ErrorList {
			errs := localSourceErrs(s.Local, specPath.Child("local"))
			if s.NodeAffinity == nil {
				errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
			return errs
		}},
		{"storageos", s.StorageOS != nil, nil},
		{"csi", s.CSI != nil, func() field.ErrorList { return csiSourceErrs(s.CSI, specPath.Child("csi")) }},
	}
}

// pvSourceErrs requires exactly one source and checks it.
func pvSourceErrs(s *corev1.PersistentVolumeSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, src := range pvSources(s, specPath) {
		if !src.set {
			continue
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(specPath.Child(src.name), msgMoreThanOneVol))
			continue
		}
		n++
		if src.check != nil {
			errs = append(errs, src.check()...)
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(specPath, "must specify a volume type"))
	}
	return errs
}

var hostPathTypes = []string{"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}

func hostPathSourceErrs(hp *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	errs := noBackstepErrs(hp.Path, p.Child("path"))
	if hp.Type != nil && !inValues(string(*hp.Type), hostPathTypes) {
		errs = append(errs, field.NotSupported(p.Child("type"), hp.Type, hostPathTypes))
	}
	return errs
}

func localSourceErrs(l *corev1.LocalVolumeSource, p *field.Path) field.ErrorList {
	if l.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	return noBackstepErrs(l.Path, p.Child("path"))
}

// noBackstepErrs rejects paths with a ".." element.
func noBackstepErrs(target string, p *field.Path) field.ErrorList {
	for _, part := range strings.Split(target, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

func nfsSourceErrs(nfs *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if nfs.Server == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if nfs.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

func iscsiSourceErrs(is *corev1.ISCSIPersistentVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if is.TargetPortal == "" {
		errs = append(errs, field.Required(p.Child("targetPortal"), ""))
	}
	if is.IQN == "" {
		errs = append(errs, field.Required(p.Child("iqn"), ""))
	} else if !strings.HasPrefix(is.IQN, "iqn") && !strings.HasPrefix(is.IQN, "eui") && !strings.HasPrefix(is.IQN, "naa") {
		errs = append(errs, field.Invalid(p.Child("iqn"), is.IQN, "must be valid format"))
	}
	if is.Lun < 0 || is.Lun > 255 {
		errs = append(errs, field.Invalid(p.Child("lun"), is.Lun, "must be between 0 and 255, inclusive"))
	}
	if (is.DiscoveryCHAPAuth || is.SessionCHAPAuth) && is.SecretRef == nil {
		errs = append(errs, field.Required(p.Child("secretRef"), ""))
	}
	return errs
}

func csiSourceErrs(csi *corev1.CSIPersistentVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	driver := p.Child("driver")
	if csi.Driver == "" {
		errs = append(errs, field.Required(driver, ""))
	}
	if len(csi.Driver) > 63 {
		errs = append(errs, field.TooLong(driver, "", 63))
	}
	for _, e := range dns1123SubdomainErrs(strings.ToLower(csi.Driver), driver) {
		e.BadValue = csi.Driver
		errs = append(errs, e)
	}
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
	}
	refs := []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	}
	for _, r := range refs {
		if r.ref == nil {
			continue
		}
		rp := p.Child(r.name)
		if r.ref.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), ""))
		} else {
			errs = append(errs, dns1123SubdomainErrs(r.ref.Name, rp.Child("name"))...)
		}
		if r.ref.Namespace == "" {
			errs = append(errs, field.Required(rp.Child("namespace"), ""))
		} else {
			errs = append(errs, dns1123LabelErrs(r.ref.Namespace, rp.Child("namespace"))...)
		}
	}
	return errs
}

// pvNodeAffinityErrs checks the required node selector of a volume.
func pvNodeAffinityErrs(aff *corev1.VolumeNodeAffinity, p *field.Path) field.ErrorList {
	if aff.Required == nil {
		return field.ErrorList{field.Required(p.Child("required"), "must specify required node constraints")}
	}
	termsPath := p.Child("required", "nodeSelectorTerms")
	if len(aff.Required.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range aff.Required.NodeSelectorTerms {
		for j, req := range term.MatchExpressions {
			errs = append(errs, pvSelectorRequirementErrs(req, termsPath.Index(i).Child("matchExpressions").Index(j))...)
		}
	}
	return errs
}

func pvSelectorRequirementErrs(req corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	return append(errs, qualifiedNameErrs(req.Key, p.Child("key"))...)
}

// validatePVUpdate: the volume source and mode never change (a CSI
// controllerExpandSecretRef may be added); node affinity is fixed once set.
func validatePVUpdate(obj, old runtime.Object) field.ErrorList {
	pv, prev := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
	var errs field.ErrorList
	src := pv.Spec.PersistentVolumeSource
	if prev.Spec.CSI != nil && prev.Spec.CSI.ControllerExpandSecretRef == nil && src.CSI != nil && src.CSI.ControllerExpandSecretRef != nil {
		csi := *src.CSI
		csi.ControllerExpandSecretRef = nil
		src.CSI = &csi
	}
	if !apiequality.Semantic.DeepEqual(src, prev.Spec.PersistentVolumeSource) {
		diff := cmp.Diff(prev.Spec.PersistentVolumeSource, src)
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation\n"+diff))
	}
	errs = append(errs, immutableErrs(pv.Spec.VolumeMode, prev.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if prev.Spec.NodeAffinity != nil && !apiequality.Semantic.DeepEqual(pv.Spec.NodeAffinity, prev.Spec.NodeAffinity) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, "field is immutable, except for updating from beta label to GA"))
	}
	if prev.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

var pvTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Capacity", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"]),
		registry.Column("Access Modes", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"]),
		registry.Column("Reclaim Policy", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"]),
		registry.Column("Status", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
		registry.Column("Claim", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"]),
		registry.Column("StorageClass", "string", 0, "StorageClass of the pv"),
		registry.Column("VolumeAttributesClass", "string", 0, "VolumeAttributesClass of the pv"),
		registry.Column("Reason", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
		registry.AgeColumn,
		registry.Column("VolumeMode", "string", 1, corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		pv := obj.(*corev1.PersistentVolume)
		claim := ""
		if ref := pv.Spec.ClaimRef; ref != nil {
			claim = ref.Namespace + "/" + ref.Name
		}
		phase := string(pv.Status.Phase)
		if pv.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		class := pv.Spec.StorageClassName
		if beta, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			class = beta
		}
		size := pv.Spec.Capacity[corev1.ResourceStorage]
		return []interface{}{pv.Name, size.String(), accessModesString(pv.Spec.AccessModes),
			string(pv.Spec.PersistentVolumeReclaimPolicy), phase, claim, class,
			unsetIfNil(pv.Spec.VolumeAttributesClassName), pv.Status.Reason, registry.Age(pv.CreationTimestamp),
			volumeModeString(pv.Spec.VolumeMode)}
	},
}

// accessModesString prints modes as kubectl does: "RWO,ROX,RWX,RWOP", in
// that order, without duplicates.
func accessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"},
	} {
		for _, have := range modes {
			if have == m.mode {
				out = append(out, m.short)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

func unsetIfNil(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func volumeModeString(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}
