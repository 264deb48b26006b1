package core

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Security context validation for pods and containers, and the rules that
// depend on spec.os.

// A sysctl name: dot- or slash-separated segments.
const (
	sysctlSegmentFmt  = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
	sysctlNameFmt     = "(" + sysctlSegmentFmt + "[\\./])*" + sysctlSegmentFmt
	sysctlNameMaxLen  = 253
	maxLocalhostLenAA = 4095
)

var sysctlNameRegexp = regexp.MustCompile("^" + sysctlNameFmt + "$")

func validatePodSecurityContext(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	sc := spec.SecurityContext
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.FSGroup != nil {
		errs = append(errs, checkGroupID(*sc.FSGroup, fldPath.Child("fsGroup"))...)
	}
	if sc.RunAsUser != nil {
		errs = append(errs, checkUserID(*sc.RunAsUser, fldPath.Child("runAsUser"))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, checkGroupID(*sc.RunAsGroup, fldPath.Child("runAsGroup"))...)
	}
	for i, gid := range sc.SupplementalGroups {
		errs = append(errs, checkGroupID(gid, fldPath.Child("supplementalGroups").Index(i))...)
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace && spec.HostPID {
		errs = append(errs, field.Invalid(fldPath.Child("shareProcessNamespace"), *spec.ShareProcessNamespace, "ShareProcessNamespace and HostPID cannot both be enabled"))
	}
	errs = append(errs, validateSysctls(spec, fldPath.Child("sysctls"))...)
	if p := sc.FSGroupChangePolicy; p != nil && *p != corev1.FSGroupChangeOnRootMismatch && *p != corev1.FSGroupChangeAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("fsGroupChangePolicy"), *p,
			[]corev1.PodFSGroupChangePolicy{corev1.FSGroupChangeAlways, corev1.FSGroupChangeOnRootMismatch}))
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	if p := sc.SupplementalGroupsPolicy; p != nil && *p != corev1.SupplementalGroupsPolicyMerge && *p != corev1.SupplementalGroupsPolicyStrict {
		errs = append(errs, field.NotSupported(fldPath.Child("supplementalGroupsPolicy"), *p,
			[]corev1.SupplementalGroupsPolicy{corev1.SupplementalGroupsPolicyMerge, corev1.SupplementalGroupsPolicyStrict}))
	}
	if p := sc.SELinuxChangePolicy; p != nil && *p != corev1.SELinuxChangePolicyRecursive && *p != corev1.SELinuxChangePolicyMountOption {
		errs = append(errs, field.NotSupported(fldPath.Child("seLinuxChangePolicy"), *p,
			[]corev1.PodSELinuxChangePolicy{corev1.SELinuxChangePolicyMountOption, corev1.SELinuxChangePolicyRecursive}))
	}
	return errs
}

func validateSysctls(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, s := range spec.SecurityContext.Sysctls {
		p := fldPath.Index(i).Child("name")
		switch {
		case s.Name == "":
			errs = append(errs, field.Required(p, ""))
		case len(s.Name) > sysctlNameMaxLen || !sysctlNameRegexp.MatchString(s.Name):
			errs = append(errs, field.Invalid(p, s.Name, fmt.Sprintf("must have at most %d characters and match regex %s", sysctlNameMaxLen, sysctlNameRegexp)))
		case seen.Has(s.Name):
			errs = append(errs, field.Duplicate(p, s.Name))
		}
		switch sysctlNamespace(s.Name) {
		case "net":
			if spec.HostNetwork {
				errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostNetwork' is true"))
			}
		case "ipc":
			if spec.HostIPC {
				errs = append(errs, field.Invalid(p, s.Name, "may not be specified when 'hostIPC' is true"))
			}
		}
		seen.Insert(s.Name)
	}
	return errs
}

// sysctlNamespace tells which Linux namespace a sysctl belongs to: "net",
// "ipc" or "" for the rest.
func sysctlNamespace(name string) string {
	if i := strings.IndexAny(name, "./"); i >= 0 && name[i] == '/' {
		name = strings.Map(func(r rune) rune {
			switch r {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return r
		}, name)
	}
	switch {
	case strings.HasPrefix(name, "net."):
		return "net"
	case strings.HasPrefix(name, "kernel.shm"), strings.HasPrefix(name, "kernel.msg"),
		name == "kernel.sem", strings.HasPrefix(name, "fs.mqueue."):
		return "ipc"
	}
	return ""
}

// validateContainerSecurityContext checks a container's securityContext.
func validateContainerSecurityContext(sc *corev1.SecurityContext, hostUsers bool, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, checkUserID(*sc.RunAsUser, fldPath.Child("runAsUser"))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, checkGroupID(*sc.RunAsGroup, fldPath.Child("runAsGroup"))...)
	}
	if pm := sc.ProcMount; pm != nil {
		if *pm != corev1.DefaultProcMount && *pm != corev1.UnmaskedProcMount {
			errs = append(errs, field.NotSupported(fldPath.Child("procMount"), *pm,
				[]corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount}))
		}
		if hostUsers && *pm == corev1.UnmaskedProcMount {
			errs = append(errs, field.Invalid(fldPath.Child("procMount"), *pm, "`hostUsers` must be false to use `Unmasked`"))
		}
	}
	errs = append(errs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.Privileged != nil && *sc.Privileged {
			errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if c == "CAP_SYS_ADMIN" {
					errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	errs = append(errs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	return errs
}

func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var errs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), sp.Type, []corev1.SeccompProfileType{
			corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}))
	}
	if sp.Type == corev1.SeccompProfileTypeLocalhost {
		if sp.LocalhostProfile == nil {
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
		} else {
			errs = append(errs, checkLocalDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
		}
	} else if sp.LocalhostProfile != nil {
		errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return errs
}

func validateAppArmorProfile(profile *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if profile == nil {
		return nil
	}
	var errs field.ErrorList
	switch profile.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		lp := profile.LocalhostProfile
		switch {
		case lp == nil || *lp == "":
			errs = append(errs, field.Required(fldPath.Child("localhostProfile"), "must be set when AppArmor type is Localhost"))
		case strings.TrimSpace(*lp) != *lp:
			errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), *lp, "must not be padded with whitespace"))
		}
		if lp != nil && len(*lp) > maxLocalhostLenAA {
			errs = append(errs, field.TooLong(fldPath.Child("localhostProfile"), "", maxLocalhostLenAA))
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if profile.LocalhostProfile != nil {
			errs = append(errs, field.Invalid(fldPath.Child("localhostProfile"), profile.LocalhostProfile, "can only be set when AppArmor type is Localhost"))
		}
	case "":
		errs = append(errs, field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set"))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("type"), profile.Type, []corev1.AppArmorProfileType{
			corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined}))
	}
	return errs
}

func checkUserID(uid int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidUserID(uid) {
		errs = append(errs, field.Invalid(fldPath, uid, msg))
	}
	return errs
}

func checkGroupID(gid int64, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidGroupID(gid) {
		errs = append(errs, field.Invalid(fldPath, gid, msg))
	}
	return errs
}

// eachPodContainer calls fn for every container with its path, init
// containers first, then containers, then ephemeral containers.
func eachPodContainer(spec *corev1.PodSpec, fldPath *field.Path, fn func(c *corev1.Container, p *field.Path)) {
	for i := range spec.InitContainers {
		fn(&spec.InitContainers[i], fldPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		fn(&spec.Containers[i], fldPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		fn((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), fldPath.Child("ephemeralContainers").Index(i))
	}
}

// validateLinuxOnly: a pod declared linux may not carry Windows options.
func validateLinuxOnly(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	const msg = "windows options cannot be set for a linux pod"
	if sc := spec.SecurityContext; sc != nil && sc.WindowsOptions != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("securityContext", "windowsOptions"), msg))
	}
	eachPodContainer(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			errs = append(errs, field.Forbidden(p.Child("securityContext", "windowsOptions"), msg))
		}
	})
	return errs
}

// validateWindowsOnly: a pod declared windows may not use Linux-only
// security settings.
func validateWindowsOnly(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbid := func(set bool, p *field.Path) {
		if set {
			errs = append(errs, field.Forbidden(p, "cannot be set for a windows pod"))
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		scp := fldPath.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, scp.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, scp.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, scp.Child("seccompProfile"))
		forbid(sc.FSGroup != nil, scp.Child("fsGroup"))
		forbid(sc.FSGroupChangePolicy != nil, scp.Child("fsGroupChangePolicy"))
		forbid(len(sc.Sysctls) > 0, scp.Child("sysctls"))
		forbid(sc.RunAsUser != nil, scp.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, scp.Child("runAsGroup"))
		forbid(sc.SupplementalGroups != nil, scp.Child("supplementalGroups"))
		forbid(sc.SupplementalGroupsPolicy != nil, scp.Child("supplementalGroupsPolicy"))
		forbid(sc.SELinuxChangePolicy != nil, scp.Child("seLinuxChangePolicy"))
	}
	forbid(spec.HostUsers != nil, fldPath.Child("hostUsers"))
	forbid(spec.HostPID, fldPath.Child("hostPID"))
	forbid(spec.HostIPC, fldPath.Child("hostIPC"))
	forbid(spec.ShareProcessNamespace != nil, fldPath.Child("shareProcessNamespace"))
	eachPodContainer(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		sc := c.SecurityContext
		if sc == nil {
			return
		}
		scp := p.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, scp.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, scp.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, scp.Child("seccompProfile"))
		forbid(sc.Capabilities != nil, scp.Child("capabilities"))
		forbid(sc.ReadOnlyRootFilesystem != nil, scp.Child("readOnlyRootFilesystem"))
		forbid(sc.Privileged != nil, scp.Child("privileged"))
		forbid(sc.AllowPrivilegeEscalation != nil, scp.Child("allowPrivilegeEscalation"))
		forbid(sc.ProcMount != nil, scp.Child("procMount"))
		forbid(sc.RunAsUser != nil, scp.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, scp.Child("runAsGroup"))
	})
	return errs
}
