package core

import (
	"regexp"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Pod defaulting, following Kubernetes' v1 defaulters (SetDefaults_PodSpec,
// SetDefaults_Container, the volume source defaulters, ...) and, for pods
// only, SetDefaults_Pod and the defaults of the admission plugins that are
// on by default (ServiceAccount, Priority, DefaultTolerationSeconds).
//
// Every function here only fills unset fields, so running it again over its
// own output changes nothing.

// DefaultTolerationSeconds is how long pods tolerate a not-ready or
// unreachable node before eviction, as the DefaultTolerationSeconds
// admission plugin adds (--default-not-ready-toleration-seconds).
const DefaultTolerationSeconds int64 = 300

// Built-in priority classes every cluster has.
var systemPriorityClasses = map[string]int32{
	"system-node-critical":    2000001000,
	"system-cluster-critical": 2000000000,
}

// defaultPodSpecFields fills the pod-spec-level defaults shared by pods and
// pod templates.
func defaultPodSpecFields(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr.To[int64](corev1.DefaultTerminationGracePeriodSeconds)
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	// serviceAccount is the deprecated alias of serviceAccountName: the
	// new field wins, and the old one always mirrors it on the way out.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName

	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	roundUpResources(spec.Overhead)
	if spec.Resources != nil {
		roundUpResources(spec.Resources.Limits)
		roundUpResources(spec.Resources.Requests)
	}
}

// defaultPod applies everything a pod gets on the way in: the pod-only
// defaults, the pod spec defaults and the admission defaults.
func defaultPod(pod *corev1.Pod) {
	spec := &pod.Spec
	defaultRequestsToLimits(spec.Containers)
	defaultRequestsToLimits(spec.InitContainers)
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptr.To(corev1.DefaultEnableServiceLinks)
	}
	if spec.HostNetwork {
		defaultHostNetworkPorts(spec.Containers)
		defaultHostNetworkPorts(spec.InitContainers)
	}
	DefaultPodSpec(spec)

	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror && spec.ServiceAccountName == "" {
		spec.ServiceAccountName = "default"
		spec.DeprecatedServiceAccount = "default"
	}
	defaultPodPriority(spec)
	defaultNodeProblemTolerations(spec)
}

// defaultRequestsToLimits copies a limit into the requests when the
// container sets no request for that resource.
func defaultRequestsToLimits(containers []corev1.Container) {
	for i := range containers {
		res := &containers[i].Resources
		if res.Limits == nil {
			continue
		}
		if res.Requests == nil {
			res.Requests = corev1.ResourceList{}
		}
		for name, limit := range res.Limits {
			if _, set := res.Requests[name]; !set {
				res.Requests[name] = limit.DeepCopy()
			}
		}
	}
}

// defaultHostNetworkPorts makes every unset hostPort equal to its
// containerPort, as a host-network pod listens on the node anyway.
func defaultHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			p := &containers[i].Ports[j]
			if p.HostPort == 0 {
				p.HostPort = p.ContainerPort
			}
		}
	}
}

// defaultPodPriority resolves the priority as the Priority admission plugin
// does when no default PriorityClass exists. Only the built-in system
// classes are known here; other class names are left to whoever resolves
// them.
func defaultPodPriority(spec *corev1.PodSpec) {
	value, known := int32(0), spec.PriorityClassName == ""
	if !known {
		value, known = systemPriorityClasses[spec.PriorityClassName]
	}
	if !known {
		return
	}
	if spec.Priority == nil {
		spec.Priority = ptr.To(value)
	}
	if spec.PreemptionPolicy == nil {
		spec.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
	}
}

// defaultNodeProblemTolerations adds the not-ready and unreachable NoExecute
// tolerations unless the pod already tolerates those taints.
func defaultNodeProblemTolerations(spec *corev1.PodSpec) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		tolerated := false
		for _, t := range spec.Tolerations {
			if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
				tolerated = true
				break
			}
		}
		if !tolerated {
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
				Key:               key,
				Operator:          corev1.TolerationOpExists,
				Effect:            corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr.To(DefaultTolerationSeconds),
			})
		}
	}
}

// defaultContainer fills a container's defaults (init, regular and
// ephemeral containers alike).
func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = defaultPullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		if from := c.Env[i].ValueFrom; from != nil {
			defaultFieldSelector(from.FieldRef)
		}
	}
	roundUpResources(c.Resources.Limits)
	roundUpResources(c.Resources.Requests)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	if lc := c.Lifecycle; lc != nil {
		if lc.PostStart != nil {
			defaultHTTPGet(lc.PostStart.HTTPGet)
		}
		if lc.PreStop != nil {
			defaultHTTPGet(lc.PreStop.HTTPGet)
		}
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

func defaultFieldSelector(f *corev1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

// roundUpResources rounds quantities up to milli precision, as Kubernetes
// does for every resource list it stores.
func roundUpResources(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(-3)
		list[name] = q
	}
}

// defaultPullPolicy is Always for images tagged (or defaulting to) latest,
// IfNotPresent for other tags, digests and references that do not parse.
func defaultPullPolicy(image string) corev1.PullPolicy {
	if tag, ok := imageTag(image); ok && tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// The grammar of image references (repository[:tag][@digest]), after the
// container image distribution specification.
var (
	imageDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	imageDomain          = imageDomainComponent + `(?:\.` + imageDomainComponent + `)*(?::[0-9]+)?`
	imagePathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	imageReferenceRegexp = regexp.MustCompile(`^((?:` + imageDomain + `/)?` + imagePathComponent + `(?:/` + imagePathComponent + `)*)` +
		`(?::([\w][\w.-]{0,127}))?` +
		`(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`)
	imageHexIDRegexp = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// imageTag returns the tag an image reference pulls: its explicit tag,
// "latest" when it has neither tag nor digest, "" for a digest alone. ok is
// false when the reference does not parse.
func imageTag(image string) (tag string, ok bool) {
	m := imageReferenceRegexp.FindStringSubmatch(image)
	if m == nil || len(m[1]) > 255 || imageHexIDRegexp.MatchString(m[1]) {
		return "", false
	}
	if m[2] == "" && m[3] == "" {
		return "latest", true
	}
	return m[2], true
}

// defaultVolume fills a volume's source defaults; a volume without a source
// becomes an emptyDir.
func defaultVolume(v *corev1.Volume) {
	s := &v.VolumeSource
	if ptr.AllPtrFieldsNil(s) {
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptr.To(corev1.HostPathUnset)
	}
	if s.Secret != nil && s.Secret.DefaultMode == nil {
		s.Secret.DefaultMode = ptr.To(corev1.SecretVolumeSourceDefaultMode)
	}
	if s.ConfigMap != nil && s.ConfigMap.DefaultMode == nil {
		s.ConfigMap.DefaultMode = ptr.To(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if d := s.DownwardAPI; d != nil {
		if d.DefaultMode == nil {
			d.DefaultMode = ptr.To(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		for i := range d.Items {
			defaultFieldSelector(d.Items[i].FieldRef)
		}
	}
	if s.Projected != nil {
		defaultProjectedVolume(s.Projected)
	}
	if s.Image != nil && s.Image.PullPolicy == "" {
		s.Image.PullPolicy = defaultPullPolicy(s.Image.Reference)
	}
	if s.Ephemeral != nil && s.Ephemeral.VolumeClaimTemplate != nil {
		claim := &s.Ephemeral.VolumeClaimTemplate.Spec
		if claim.VolumeMode == nil {
			claim.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
		}
		roundUpResources(claim.Resources.Limits)
		roundUpResources(claim.Resources.Requests)
	}
	defaultLegacyVolumeSources(s)
}

func defaultProjectedVolume(p *corev1.ProjectedVolumeSource) {
	if p.DefaultMode == nil {
		p.DefaultMode = ptr.To(corev1.ProjectedVolumeSourceDefaultMode)
	}
	for i := range p.Sources {
		src := &p.Sources[i]
		if src.DownwardAPI != nil {
			for j := range src.DownwardAPI.Items {
				defaultFieldSelector(src.DownwardAPI.Items[j].FieldRef)
			}
		}
		if t := src.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
			t.ExpirationSeconds = ptr.To[int64](3600)
		}
	}
}

// defaultLegacyVolumeSources fills the defaults of the in-tree storage
// plugins Kubernetes still defaults.
func defaultLegacyVolumeSources(s *corev1.VolumeSource) {
	if s.ISCSI != nil && s.ISCSI.ISCSIInterface == "" {
		s.ISCSI.ISCSIInterface = "default"
	}
	if r := s.RBD; r != nil {
		if r.RBDPool == "" {
			r.RBDPool = "rbd"
		}
		if r.RadosUser == "" {
			r.RadosUser = "admin"
		}
		if r.Keyring == "" {
			r.Keyring = "/etc/ceph/keyring"
		}
	}
	if a := s.AzureDisk; a != nil {
		if a.CachingMode == nil {
			a.CachingMode = ptr.To(corev1.AzureDataDiskCachingReadWrite)
		}
		if a.Kind == nil {
			a.Kind = ptr.To(corev1.AzureSharedBlobDisk)
		}
		if a.FSType == nil {
			a.FSType = ptr.To("ext4")
		}
		if a.ReadOnly == nil {
			a.ReadOnly = ptr.To(false)
		}
	}
	if sio := s.ScaleIO; sio != nil {
		if sio.StorageMode == "" {
			sio.StorageMode = "ThinProvisioned"
		}
		if sio.FSType == "" {
			sio.FSType = "xfs"
		}
	}
}
