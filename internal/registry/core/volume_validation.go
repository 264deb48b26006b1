package core

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Pod volumes, volume mounts and volume devices, as Kubernetes validates
// them. The in-tree storage plugin sources are in volume_sources.go.

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// validateVolumes checks the pod's volumes and returns the valid ones by
// name, for the mount checks.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path, opts podSpecOptions) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	// The claims generic ephemeral volumes create, named after the pod.
	created := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				created.Insert(podMeta.Name + "-" + v.Name)
			}
		}
	}
	valid := map[string]corev1.VolumeSource{}
	for i, v := range volumes {
		p := fldPath.Index(i)
		el := validateVolumeSource(&v.VolumeSource, p, v.Name, podMeta, opts)
		if v.Name == "" {
			el = append(el, field.Required(p.Child("name"), ""))
		} else {
			el = append(el, checkDNSLabel(v.Name, p.Child("name"))...)
		}
		if names.Has(v.Name) {
			el = append(el, field.Duplicate(p.Child("name"), v.Name))
		}
		if len(el) == 0 {
			names.Insert(v.Name)
			valid[v.Name] = v.VolumeSource
		} else {
			errs = append(errs, el...)
		}
		if v.PersistentVolumeClaim != nil && created.Has(v.PersistentVolumeClaim.ClaimName) {
			errs = append(errs, field.Invalid(p.Child("persistentVolumeClaim", "claimName"), v.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, errs
}

// volumeSourceCheck is one possible source of a volume.
type volumeSourceCheck struct {
	name  string // the field reported when a second source is set
	set   bool
	check func() field.ErrorList
}

// validateVolumeSource requires exactly one source and checks it. The
// sources are listed in Kubernetes' order, which decides the one reported
// when several are set.
func validateVolumeSource(s *corev1.VolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta, opts podSpecOptions) field.ErrorList {
	child := fldPath.Child
	checks := []volumeSourceCheck{
		{"emptyDir", s.EmptyDir != nil, func() field.ErrorList { return validateEmptyDir(s.EmptyDir, child("emptyDir")) }},
		{"hostPath", s.HostPath != nil, func() field.ErrorList { return validateHostPathSource(s.HostPath, child("hostPath")) }},
		{"gitRepo", s.GitRepo != nil, func() field.ErrorList { return validateGitRepoSource(s.GitRepo, child("gitRepo")) }},
		// Kubernetes reports this source's errors under "persistentDisk".
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, func() field.ErrorList { return validateGCEPDSource(s.GCEPersistentDisk, child("persistentDisk")) }},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, func() field.ErrorList {
			return validateAWSEBSSource(s.AWSElasticBlockStore, child("awsElasticBlockStore"))
		}},
		{"secret", s.Secret != nil, func() field.ErrorList { return validateSecretSource(s.Secret, child("secret")) }},
		{"nfs", s.NFS != nil, func() field.ErrorList { return validateNFSSource(s.NFS, child("nfs")) }},
		{"iscsi", s.ISCSI != nil, func() field.ErrorList { return validateISCSISource(s.ISCSI, child("iscsi"), volName) }},
		{"glusterfs", s.Glusterfs != nil, func() field.ErrorList { return validateGlusterfsSource(s.Glusterfs, child("glusterfs")) }},
		{"flocker", s.Flocker != nil, func() field.ErrorList { return validateFlockerSource(s.Flocker, child("flocker")) }},
		{"persistentVolumeClaim", s.PersistentVolumeClaim != nil, func() field.ErrorList {
			return requireString(s.PersistentVolumeClaim.ClaimName, child("persistentVolumeClaim", "claimName"))
		}},
		{"rbd", s.RBD != nil, func() field.ErrorList { return validateRBDSource(s.RBD, child("rbd")) }},
		{"cinder", s.Cinder != nil, func() field.ErrorList { return validateCinderSource(s.Cinder, child("cinder")) }},
		{"cephFS", s.CephFS != nil, func() field.ErrorList { return requireList(len(s.CephFS.Monitors), child("cephfs", "monitors")) }},
		{"quobyte", s.Quobyte != nil, func() field.ErrorList { return validateQuobyteSource(s.Quobyte, child("quobyte")) }},
		// Kubernetes misspells this one in its error path.
		{"downwarAPI", s.DownwardAPI != nil, func() field.ErrorList { return validateDownwardAPISource(s.DownwardAPI, child("downwardAPI")) }},
		{"fc", s.FC != nil, func() field.ErrorList { return validateFCSource(s.FC, child("fc")) }},
		{"flexVolume", s.FlexVolume != nil, func() field.ErrorList { return validateFlexSource(s.FlexVolume, child("flexVolume")) }},
		{"configMap", s.ConfigMap != nil, func() field.ErrorList { return validateConfigMapSource(s.ConfigMap, child("configMap")) }},
		{"azureFile", s.AzureFile != nil, func() field.ErrorList { return validateAzureFileSource(s.AzureFile, child("azureFile")) }},
		{"vsphereVolume", s.VsphereVolume != nil, func() field.ErrorList {
			return requireString(s.VsphereVolume.VolumePath, child("vsphereVolume", "volumePath"))
		}},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, func() field.ErrorList {
			return requireString(s.PhotonPersistentDisk.PdID, child("photonPersistentDisk", "pdID"))
		}},
		{"portworxVolume", s.PortworxVolume != nil, func() field.ErrorList {
			return requireString(s.PortworxVolume.VolumeID, child("portworxVolume", "volumeID"))
		}},
		{"azureDisk", s.AzureDisk != nil, func() field.ErrorList { return validateAzureDiskSource(s.AzureDisk, child("azureDisk")) }},
		{"storageos", s.StorageOS != nil, func() field.ErrorList { return validateStorageOSSource(s.StorageOS, child("storageos")) }},
		{"projected", s.Projected != nil, func() field.ErrorList { return validateProjectedSource(s.Projected, child("projected")) }},
		{"scaleIO", s.ScaleIO != nil, func() field.ErrorList { return validateScaleIOSource(s.ScaleIO, child("scaleIO")) }},
		{"csi", s.CSI != nil, func() field.ErrorList { return validateCSISource(s.CSI, child("csi")) }},
		{"ephemeral", s.Ephemeral != nil, func() field.ErrorList { return validateEphemeralSource(s.Ephemeral, fldPath, volName, podMeta) }},
		{"image", s.Image != nil, func() field.ErrorList { return validateImageSource(s.Image, child("image"), opts) }},
	}
	var errs field.ErrorList
	n := 0
	for _, c := range checks {
		if !c.set {
			continue
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(c.name), "may not specify more than 1 volume type"))
			continue
		}
		n++
		errs = append(errs, c.check()...)
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	}
	return errs
}

func validateEmptyDir(e *corev1.EmptyDirVolumeSource, fldPath *field.Path) field.ErrorList {
	if e.SizeLimit != nil && e.SizeLimit.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Forbidden(fldPath.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
	}
	return nil
}

var podHostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory,
	corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket,
}

func validateHostPathSource(h *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if h.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	errs := checkNoBacksteps(h.Path, fldPath.Child("path"))
	if h.Type != nil {
		known := false
		for _, t := range podHostPathTypes {
			known = known || t == *h.Type
		}
		if !known {
			errs = append(errs, field.NotSupported(fldPath.Child("type"), *h.Type, podHostPathTypes))
		}
	}
	return errs
}

func validateSecretSource(s *corev1.SecretVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(s.SecretName, fldPath.Child("secretName"))
	errs = append(errs, checkFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		errs = append(errs, validateKeyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

func validateConfigMapSource(s *corev1.ConfigMapVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(s.Name, fldPath.Child("name"))
	errs = append(errs, checkFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	for i := range s.Items {
		errs = append(errs, validateKeyToPath(&s.Items[i], fldPath.Child("items").Index(i))...)
	}
	return errs
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	errs := requireString(kp.Key, fldPath.Child("key"))
	errs = append(errs, requireString(kp.Path, fldPath.Child("path"))...)
	errs = append(errs, checkLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(errs, checkFileMode(kp.Mode, fldPath.Child("mode"))...)
}

// validateDownwardAPISource: the item errors are reported on the source,
// not the item, as Kubernetes does.
func validateDownwardAPISource(d *corev1.DownwardAPIVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := checkFileMode(d.DefaultMode, fldPath.Child("defaultMode"))
	for i := range d.Items {
		errs = append(errs, validateDownwardAPIFile(&d.Items[i], fldPath)...)
	}
	return errs
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	errs := requireString(f.Path, fldPath.Child("path"))
	errs = append(errs, checkLocalNonReservedPath(f.Path, fldPath.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		errs = append(errs, validateObjectFieldSelector(f.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(f.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(errs, checkFileMode(f.Mode, fldPath.Child("mode"))...)
}

func validateProjectedSource(p *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := checkFileMode(p.DefaultMode, fldPath.Child("defaultMode"))
	paths := sets.New[string]()
	addPath := func(file, reported string) {
		if file == "" {
			return
		}
		if paths.Has(file) {
			errs = append(errs, field.Invalid(fldPath, reported, "conflicting duplicate paths"))
		}
		paths.Insert(file)
	}
	for i, src := range p.Sources {
		sp := fldPath.Child("sources").Index(i)
		n := 0
		if s := src.Secret; s != nil {
			n++
			errs = append(errs, requireString(s.Name, sp.Child("secret", "name"))...)
			for j := range s.Items {
				errs = append(errs, validateKeyToPath(&s.Items[j], sp.Child("secret", "items").Index(j))...)
				addPath(s.Items[j].Path, s.Name)
			}
		}
		if c := src.ConfigMap; c != nil {
			n++
			errs = append(errs, requireString(c.Name, sp.Child("configMap", "name"))...)
			for j := range c.Items {
				errs = append(errs, validateKeyToPath(&c.Items[j], sp.Child("configMap", "items").Index(j))...)
				addPath(c.Items[j].Path, c.Name)
			}
		}
		if d := src.DownwardAPI; d != nil {
			n++
			for j := range d.Items {
				errs = append(errs, validateDownwardAPIFile(&d.Items[j], sp.Child("downwardAPI"))...)
				addPath(d.Items[j].Path, d.Items[j].Path)
			}
		}
		if t := src.ServiceAccountToken; t != nil {
			n++
			errs = append(errs, validateTokenProjection(t, sp.Child("serviceAccountToken"), fldPath)...)
		}
		if src.ClusterTrustBundle != nil || src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// validateTokenProjection: Kubernetes reports a missing path on the
// projected volume, not on the token source.
func validateTokenProjection(t *corev1.ServiceAccountTokenProjection, fldPath, volPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.ExpirationSeconds != nil {
		if *t.ExpirationSeconds < 10*60 {
			errs = append(errs, field.Invalid(fldPath.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *t.ExpirationSeconds > 1<<32 {
			errs = append(errs, field.Invalid(fldPath.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	if t.Path == "" {
		return append(errs, field.Required(volPath.Child("path"), ""))
	}
	return append(errs, checkLocalNonReservedPath(t.Path, volPath.Child("path"))...)
}

func validateCSISource(c *corev1.CSIVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := checkCSIDriverName(c.Driver, fldPath.Child("driver"))
	if ref := c.NodePublishSecretRef; ref != nil {
		if ref.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("nodePublishSecretRef", "name"), ""))
		} else {
			// Reported on csi.name, as Kubernetes does.
			errs = append(errs, checkName(ref.Name, apivalidation.NameIsDNSSubdomain, fldPath.Child("name"))...)
		}
	}
	return errs
}

func checkCSIDriverName(driver string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if driver == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(driver) > 63 {
		errs = append(errs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(driver)) {
		errs = append(errs, field.Invalid(fldPath, driver, msg))
	}
	return errs
}

// validateEphemeralSource checks a generic ephemeral volume's claim
// template (the claim spec itself only in outline).
func validateEphemeralSource(e *corev1.EphemeralVolumeSource, volPath *field.Path, volName string, podMeta *metav1.ObjectMeta) field.ErrorList {
	fldPath := volPath.Child("ephemeral")
	tmpl := e.VolumeClaimTemplate
	if tmpl == nil {
		return field.ErrorList{field.Required(fldPath.Child("volumeClaimTemplate"), "")}
	}
	tp := fldPath.Child("volumeClaimTemplate")
	errs := validateTemplateObjectMeta(&tmpl.ObjectMeta, tp.Child("metadata"))
	if len(tmpl.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(tp.Child("spec", "accessModes"), "at least 1 access mode is required"))
	}
	if _, ok := tmpl.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(tp.Child("spec", "resources").Key(string(corev1.ResourceStorage)), ""))
	}
	if podMeta != nil && podMeta.Name != "" && volName != "" {
		claim := podMeta.Name + "-" + volName
		for _, msg := range apivalidation.NameIsDNSSubdomain(claim, false) {
			errs = append(errs, field.Invalid(volPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", claim, msg)))
		}
	}
	return errs
}

// validateTemplateObjectMeta: an embedded template may only set labels
// and annotations.
func validateTemplateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))
	errs = append(errs, metavalidation.ValidateLabels(meta.Labels, fldPath.Child("labels"))...)
	rest := meta.DeepCopy()
	rest.Labels, rest.Annotations = nil, nil
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"name", rest.Name != ""}, {"generateName", rest.GenerateName != ""}, {"namespace", rest.Namespace != ""},
		{"uid", rest.UID != ""}, {"resourceVersion", rest.ResourceVersion != ""}, {"generation", rest.Generation != 0},
		{"creationTimestamp", !rest.CreationTimestamp.IsZero()}, {"deletionTimestamp", rest.DeletionTimestamp != nil},
		{"deletionGracePeriodSeconds", rest.DeletionGracePeriodSeconds != nil}, {"ownerReferences", rest.OwnerReferences != nil},
		{"finalizers", rest.Finalizers != nil}, {"managedFields", rest.ManagedFields != nil},
	} {
		if f.set {
			errs = append(errs, field.Forbidden(fldPath.Child(f.name), "cannot be set"))
		}
	}
	return errs
}

func validateImageSource(img *corev1.ImageVolumeSource, fldPath *field.Path, opts podSpecOptions) field.ErrorList {
	var errs field.ErrorList
	if opts.isPod && img.Reference == "" {
		errs = append(errs, field.Required(fldPath.Child("reference"), ""))
	}
	return append(errs, validatePullPolicy(img.PullPolicy, fldPath.Child("pullPolicy"))...)
}

// validateVolumeMounts checks a container's mounts against the pod's valid
// volumes. Like Kubernetes, subPath and propagation errors are reported on
// the list path.
func validateVolumeMounts(c *corev1.Container, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	devices := map[string]string{}
	for _, d := range c.VolumeDevices {
		devices[d.Name] = d.DevicePath
	}
	mountPaths := sets.New[string]()
	for i, m := range c.VolumeMounts {
		p := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		src, found := volumes[m.Name]
		if !found {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		}
		if mountPaths.Has(m.MountPath) {
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		mountPaths.Insert(m.MountPath)
		if _, dup := devices[m.Name]; dup {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, "must not already exist in volumeDevices"))
		}
		for _, dp := range devices {
			if dp == m.MountPath {
				errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must not already exist as a path in volumeDevices"))
				break
			}
		}
		if found && src.Image != nil {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "not allowed in image volume sources"))
			}
			if m.SubPathExpr != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "not allowed in image volume sources"))
			}
		}
		errs = append(errs, validateMountOptions(c, m, p, fldPath)...)
	}
	return errs
}

func validateMountOptions(c *corev1.Container, m corev1.VolumeMount, p, listPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.SubPath != "" {
		errs = append(errs, checkLocalDescendingPath(m.SubPath, listPath.Child("subPath"))...)
	}
	if m.SubPathExpr != "" {
		if m.SubPath != "" {
			errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		errs = append(errs, checkLocalDescendingPath(m.SubPathExpr, listPath.Child("subPathExpr"))...)
	}
	if mp := m.MountPropagation; mp != nil {
		pp := listPath.Child("mountPropagation")
		switch *mp {
		case corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone:
		default:
			errs = append(errs, field.NotSupported(pp, *mp, []corev1.MountPropagationMode{
				corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone}))
		}
		privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
		if *mp == corev1.MountPropagationBidirectional && !privileged {
			errs = append(errs, field.Forbidden(pp, "Bidirectional mount propagation is available only to privileged containers"))
		}
	}
	if rro := m.RecursiveReadOnly; rro != nil {
		rp := listPath.Child("recursiveReadOnly")
		switch *rro {
		case corev1.RecursiveReadOnlyDisabled:
		case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
			if !m.ReadOnly {
				errs = append(errs, field.Forbidden(rp, "may only be specified when readOnly is true"))
			}
			if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
				errs = append(errs, field.Forbidden(rp, "may only be specified when mountPropagation is None or not specified"))
			}
		default:
			errs = append(errs, field.NotSupported(rp, *rro, []corev1.RecursiveReadOnlyMode{
				corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible}))
		}
	}
	return errs
}

// validateVolumeDevices: raw block devices come from claims only.
func validateVolumeDevices(c *corev1.Container, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	names, paths := sets.New[string](), sets.New[string]()
	for i, d := range c.VolumeDevices {
		p := fldPath.Index(i)
		src, found := volumes[d.Name]
		if d.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must be unique"))
		}
		if found && src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if !found {
			errs = append(errs, field.NotFound(p.Child("name"), d.Name))
		}
		if d.DevicePath == "" {
			errs = append(errs, field.Required(p.Child("devicePath"), ""))
		}
		if paths.Has(d.DevicePath) {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must be unique"))
		}
		if d.DevicePath != "" && len(checkNoBacksteps(d.DevicePath, p)) > 0 {
			errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "can not contain backsteps ('..')"))
		} else {
			paths.Insert(d.DevicePath)
		}
		if _, dup := mounts[d.Name]; dup {
			errs = append(errs, field.Invalid(p.Child("name"), d.Name, "must not already exist in volumeMounts"))
		}
		for _, mp := range mounts {
			if mp == d.DevicePath {
				errs = append(errs, field.Invalid(p.Child("devicePath"), d.DevicePath, "must not already exist as a path in volumeMounts"))
				break
			}
		}
		if d.Name != "" {
			names.Insert(d.Name)
		}
	}
	return errs
}

// Path and mode checks.

func requireString(value string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

func checkFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

// checkNoBacksteps rejects ".." path elements.
func checkNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

// checkLocalDescendingPath: relative and without "..".
func checkLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, checkNoBacksteps(target, fldPath)...)
}

// checkLocalNonReservedPath also rejects names starting with "..", which
// the kubelet reserves.
func checkLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := checkLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}
