package core

import (
	"net"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The in-tree storage plugin volume sources: mostly required fields, with
// Kubernetes' messages and paths.

var (
	iscsiIQNRegexp = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	iscsiEUIRegexp = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	iscsiNAARegexp = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)
)

func requireList(n int, fldPath *field.Path) field.ErrorList {
	if n == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	return nil
}

func validateGitRepoSource(g *corev1.GitRepoVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(g.Repository, fldPath.Child("repository"))
	return append(errs, checkLocalDescendingPath(g.Directory, fldPath.Child("directory"))...)
}

// checkPartition: the message says 1-255 while 0 is accepted, as in
// Kubernetes.
func checkPartition(partition int32, fldPath *field.Path) field.ErrorList {
	if partition < 0 || partition > 255 {
		return field.ErrorList{field.Invalid(fldPath, partition, validation.InclusiveRangeError(1, 255))}
	}
	return nil
}

func validateGCEPDSource(pd *corev1.GCEPersistentDiskVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(pd.PDName, fldPath.Child("pdName"))
	return append(errs, checkPartition(pd.Partition, fldPath.Child("partition"))...)
}

func validateAWSEBSSource(ebs *corev1.AWSElasticBlockStoreVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(ebs.VolumeID, fldPath.Child("volumeID"))
	return append(errs, checkPartition(ebs.Partition, fldPath.Child("partition"))...)
}

func validateNFSSource(nfs *corev1.NFSVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(nfs.Server, fldPath.Child("server"))
	errs = append(errs, requireString(nfs.Path, fldPath.Child("path"))...)
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(fldPath.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

// checkISCSIName checks an IQN, EUI or NAA name; prefixMsg is the message
// for a name with none of those prefixes.
func checkISCSIName(name, prefixMsg string, fldPath *field.Path) field.ErrorList {
	switch {
	case !strings.HasPrefix(name, "iqn") && !strings.HasPrefix(name, "eui") && !strings.HasPrefix(name, "naa"):
		return field.ErrorList{field.Invalid(fldPath, name, prefixMsg)}
	case strings.HasPrefix(name, "iqn") && !iscsiIQNRegexp.MatchString(name),
		strings.HasPrefix(name, "eui") && !iscsiEUIRegexp.MatchString(name),
		strings.HasPrefix(name, "naa") && !iscsiNAARegexp.MatchString(name):
		return field.ErrorList{field.Invalid(fldPath, name, "must be valid format")}
	}
	return nil
}

func validateISCSISource(s *corev1.ISCSIVolumeSource, fldPath *field.Path, volName string) field.ErrorList {
	const prefixMsg = "must be valid format starting with iqn, eui, or naa"
	errs := requireString(s.TargetPortal, fldPath.Child("targetPortal"))
	if s.IQN == "" {
		errs = append(errs, field.Required(fldPath.Child("iqn"), ""))
	} else {
		errs = append(errs, checkISCSIName(s.IQN, prefixMsg, fldPath.Child("iqn"))...)
	}
	if s.Lun < 0 || s.Lun > 255 {
		errs = append(errs, field.Invalid(fldPath.Child("lun"), s.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (s.DiscoveryCHAPAuth || s.SessionCHAPAuth) && s.SecretRef == nil {
		errs = append(errs, field.Required(fldPath.Child("secretRef"), ""))
	}
	if s.InitiatorName != nil {
		errs = append(errs, checkISCSIName(*s.InitiatorName, prefixMsg, fldPath.Child("initiatorname"))...)
		if len(volName+":"+s.TargetPortal) > 64 {
			errs = append(errs, field.Invalid(fldPath.Child("name"), volName,
				"Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
		}
	}
	return errs
}

func validateGlusterfsSource(g *corev1.GlusterfsVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(g.EndpointsName, fldPath.Child("endpoints"))
	return append(errs, requireString(g.Path, fldPath.Child("path"))...)
}

func validateFlockerSource(f *corev1.FlockerVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if f.DatasetName == "" && f.DatasetUUID == "" {
		errs = append(errs, field.Required(fldPath, "one of datasetName and datasetUUID is required"))
	}
	if f.DatasetName != "" && f.DatasetUUID != "" {
		errs = append(errs, field.Invalid(fldPath, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
	}
	if strings.Contains(f.DatasetName, "/") {
		errs = append(errs, field.Invalid(fldPath.Child("datasetName"), f.DatasetName, "must not contain '/'"))
	}
	return errs
}

func validateRBDSource(r *corev1.RBDVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireList(len(r.CephMonitors), fldPath.Child("monitors"))
	return append(errs, requireString(r.RBDImage, fldPath.Child("image"))...)
}

func validateCinderSource(c *corev1.CinderVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(c.VolumeID, fldPath.Child("volumeID"))
	if c.SecretRef != nil {
		errs = append(errs, requireString(c.SecretRef.Name, fldPath.Child("secretRef", "name"))...)
	}
	return errs
}

func validateQuobyteSource(q *corev1.QuobyteVolumeSource, fldPath *field.Path) field.ErrorList {
	const registryMsg = "must be a host:port pair or multiple pairs separated by commas"
	var errs field.ErrorList
	switch {
	case q.Registry == "":
		errs = append(errs, field.Required(fldPath.Child("registry"), registryMsg))
	case len(q.Tenant) >= 65:
		errs = append(errs, field.Required(fldPath.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, hostPort := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(hostPort); err != nil {
				errs = append(errs, field.Invalid(fldPath.Child("registry"), q.Registry, registryMsg))
			}
		}
	}
	return append(errs, requireString(q.Volume, fldPath.Child("volume"))...)
}

func validateFCSource(fc *corev1.FCVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fc.TargetWWNs) == 0 && len(fc.WWIDs) == 0 {
		errs = append(errs, field.Required(fldPath.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		errs = append(errs, field.Invalid(fldPath.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			errs = append(errs, field.Required(fldPath.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			errs = append(errs, field.Invalid(fldPath.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return errs
}

func validateFlexSource(f *corev1.FlexVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(f.Driver, fldPath.Child("driver"))
	for k := range f.Options {
		domain := k
		if prefix, _, found := strings.Cut(k, "/"); found {
			domain = prefix
		}
		d := "." + strings.ToLower(domain)
		if strings.HasSuffix(d, ".kubernetes.io") || strings.HasSuffix(d, ".k8s.io") {
			errs = append(errs, field.Invalid(fldPath.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
		}
	}
	return errs
}

func validateAzureFileSource(a *corev1.AzureFileVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(a.SecretName, fldPath.Child("secretName"))
	return append(errs, requireString(a.ShareName, fldPath.Child("shareName"))...)
}

func validateAzureDiskSource(a *corev1.AzureDiskVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(a.DiskName, fldPath.Child("diskName"))
	errs = append(errs, requireString(a.DataDiskURI, fldPath.Child("diskURI"))...)
	cachingModes := []corev1.AzureDataDiskCachingMode{corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite}
	if m := a.CachingMode; m != nil && *m != cachingModes[0] && *m != cachingModes[1] && *m != cachingModes[2] {
		errs = append(errs, field.NotSupported(fldPath.Child("cachingMode"), *m, cachingModes))
	}
	kinds := []corev1.AzureDataDiskKind{corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk, corev1.AzureSharedBlobDisk}
	if k := a.Kind; k != nil && *k != kinds[0] && *k != kinds[1] && *k != kinds[2] {
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), *k, kinds))
	}
	if k := a.Kind; k != nil {
		managed := *k == corev1.AzureManagedDisk
		if managed && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
			errs = append(errs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI,
				[]string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
		}
		if !managed && !strings.HasPrefix(a.DataDiskURI, "https://") {
			errs = append(errs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI,
				[]string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
		}
	}
	return errs
}

func validateStorageOSSource(s *corev1.StorageOSVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.VolumeName == "" {
		errs = append(errs, field.Required(fldPath.Child("volumeName"), ""))
	} else {
		errs = append(errs, checkDNSLabel(s.VolumeName, fldPath.Child("volumeName"))...)
	}
	if s.VolumeNamespace != "" {
		errs = append(errs, checkDNSLabel(s.VolumeNamespace, fldPath.Child("volumeNamespace"))...)
	}
	if s.SecretRef != nil {
		errs = append(errs, requireString(s.SecretRef.Name, fldPath.Child("secretRef", "name"))...)
	}
	return errs
}

func validateScaleIOSource(s *corev1.ScaleIOVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := requireString(s.Gateway, fldPath.Child("gateway"))
	errs = append(errs, requireString(s.System, fldPath.Child("system"))...)
	return append(errs, requireString(s.VolumeName, fldPath.Child("volumeName"))...)
}
