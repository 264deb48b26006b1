package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// podTestValidPod is a defaulted pod using most features, which must
// validate cleanly.
func podTestValidPod() *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox", Command: []string{"true"}}},
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "nginx:1.25",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP, HostPort: 5353}},
				Env: []corev1.EnvVar{
					{Name: "MODE", Value: "prod"},
					{Name: "my.var-name", Value: "x"},
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
					{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
					{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
				},
				EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi"), "example.com/gpu": resource.MustParse("1")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				},
				VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", SubPath: "app"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}},
				Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}},
				SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), AllowPrivilegeEscalation: ptr.To(false),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			}},
			Volumes: []corev1.Volume{
				{Name: "data"},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "a", Path: "a.conf"}}}}},
				{Name: "tok", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}},
				}}}},
			},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations:  []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "web", Effect: corev1.TaintEffectNoSchedule}},
			Affinity: &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
						{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname",
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}},
			},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
			Hostname:              "web-0",
			Subdomain:             "web",
			ActiveDeadlineSeconds: ptr.To[int64](3600),
			SecurityContext:       &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000), Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}}},
			ImagePullSecrets:      []corev1.LocalObjectReference{{Name: "regcred"}},
			DNSConfig:             &corev1.PodDNSConfig{Nameservers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local."}},
			HostAliases:           []corev1.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"db.local"}}},
		},
	}
	defaultPod(pod)
	return pod
}

func TestValidPodPasses(t *testing.T) {
	pod := podTestValidPod()
	registrytest.ExpectValid(t, validatePod(pod))
	template := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels}, Spec: pod.Spec}
	registrytest.ExpectValid(t, ValidatePodTemplateSpec(template, field.NewPath("spec", "template")))
}

func TestPodValidationErrors(t *testing.T) {
	const dnsLabelMsg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	c0 := "spec.containers[0]"
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []registrytest.Want
	}{
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil },
			[]registrytest.Want{registrytest.Required("spec.containers", "")}},
		{"container name not a DNS label", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" },
			[]registrytest.Want{registrytest.Invalid(c0+".name", dnsLabelMsg)}},
		{"container name missing", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" },
			[]registrytest.Want{registrytest.Required(c0+".name", "")}},
		{"init and app container share a name", func(p *corev1.Pod) { p.Spec.InitContainers[0].Name = "app" },
			[]registrytest.Want{registrytest.Duplicate("spec.initContainers[0].name", "")}},
		{"two app containers share a name", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app", Image: "x",
				TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullAlways})
		}, []registrytest.Want{registrytest.Duplicate("spec.containers[1].name", "")}},
		{"image missing", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]registrytest.Want{registrytest.Required(c0+".image", "")}},
		{"image padded (pods only)", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			[]registrytest.Want{registrytest.Invalid(c0+".image", "must not have leading or trailing whitespace")}},
		{"containerPort missing", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 },
			[]registrytest.Want{registrytest.Required(c0+".ports[0].containerPort", "")}},
		{"containerPort out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			[]registrytest.Want{registrytest.Invalid(c0+".ports[0].containerPort", "must be between 1 and 65535, inclusive")}},
		{"hostPort out of range", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[1].HostPort = -1 },
			[]registrytest.Want{registrytest.Invalid(c0+".ports[1].hostPort", "must be between 1 and 65535, inclusive")}},
		{"protocol not supported", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" },
			[]registrytest.Want{registrytest.NotSupported(c0+".ports[0].protocol", `supported values: "SCTP", "TCP", "UDP"`)}},
		{"port name duplicated", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[1].Name = "http" },
			[]registrytest.Want{registrytest.Duplicate(c0+".ports[1].name", "")}},
		{"port name not an IANA service name", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "http_port" },
			[]registrytest.Want{registrytest.Invalid(c0+".ports[0].name", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")}},
		{"host port used twice", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 5353
			p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP
		},
			[]registrytest.Want{registrytest.Duplicate(c0+".ports[1].hostPort", "")}},
		{"env name with =", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "A=B" },
			[]registrytest.Want{registrytest.Invalid(c0+".env[0].name", "a valid environment variable name must consist only of printable ASCII characters other than '='")}},
		{"env name missing", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "" },
			[]registrytest.Want{registrytest.Required(c0+".env[0].name", "")}},
		{"env value and valueFrom", func(p *corev1.Pod) { p.Spec.Containers[0].Env[2].Value = "x" },
			[]registrytest.Want{registrytest.Invalid(c0+".env[2].valueFrom", "may not be specified when `value` is not empty")}},
		{"env valueFrom with two sources", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[2].ValueFrom.SecretKeyRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}
		}, []registrytest.Want{registrytest.Invalid(c0+".env[2].valueFrom", "may not have more than one field specified at a time")}},
		{"env valueFrom empty", func(p *corev1.Pod) { p.Spec.Containers[0].Env[2].ValueFrom = &corev1.EnvVarSource{} },
			[]registrytest.Want{registrytest.Invalid(c0+".env[2].valueFrom", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")}},
		{"env fieldRef not allowed", func(p *corev1.Pod) { p.Spec.Containers[0].Env[2].ValueFrom.FieldRef.FieldPath = "spec.restartPolicy" },
			[]registrytest.Want{registrytest.NotSupported(c0+".env[2].valueFrom.fieldRef.fieldPath", "")}},
		{"env fieldRef unknown", func(p *corev1.Pod) { p.Spec.Containers[0].Env[2].ValueFrom.FieldRef.FieldPath = "spec.nothing" },
			[]registrytest.Want{registrytest.Invalid(c0+".env[2].valueFrom.fieldRef.fieldPath", "error converting fieldPath: field label not supported: spec.nothing")}},
		{"env resourceFieldRef unknown", func(p *corev1.Pod) { p.Spec.Containers[0].Env[4].ValueFrom.ResourceFieldRef.Resource = "limits.gpu" },
			[]registrytest.Want{registrytest.NotSupported(c0+".env[4].valueFrom.resourceFieldRef.resource", "")}},
		{"env secret key missing", func(p *corev1.Pod) { p.Spec.Containers[0].Env[5].ValueFrom.SecretKeyRef.Key = "" },
			[]registrytest.Want{registrytest.Required(c0+".env[5].valueFrom.secretKeyRef.key", "")}},
		{"envFrom without source", func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom[0].ConfigMapRef = nil },
			[]registrytest.Want{registrytest.Invalid(c0+".envFrom", "must specify one of: `configMapRef` or `secretRef`")}},
		{"request above limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
		},
			[]registrytest.Want{registrytest.Invalid(c0+".resources.requests", "must be less than or equal to cpu limit of 500m")}},
		{"negative limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("-1")
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("-1")
		}, []registrytest.Want{
			registrytest.Invalid(c0+".resources.limits[memory]", "must be greater than or equal to 0"),
			registrytest.Invalid(c0+".resources.requests[memory]", "must be greater than or equal to 0"),
		}},
		{"unknown unprefixed resource", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["gpu"] = resource.MustParse("1") },
			[]registrytest.Want{
				registrytest.Invalid(c0+".resources.requests[gpu]", "must be a standard resource type or fully qualified"),
				registrytest.Invalid(c0+".resources.requests[gpu]", "must be a standard resource for containers"),
			}},
		{"extended resource request below limit", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits["example.com/gpu"] = resource.MustParse("2")
		}, []registrytest.Want{registrytest.Invalid(c0+".resources.requests", "must be equal to example.com/gpu limit of 2")}},
		{"mount of a missing volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "x" },
			[]registrytest.Want{registrytest.NotFound(c0+".volumeMounts[0].name", "")}},
		{"mountPath missing", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" },
			[]registrytest.Want{registrytest.Required(c0+".volumeMounts[0].mountPath", "")}},
		{"mountPath twice", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[1].MountPath = "/data" },
			[]registrytest.Want{registrytest.Invalid(c0+".volumeMounts[1].mountPath", "must be unique")}},
		{"subPath with ..", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[1].SubPath = "../etc" },
			[]registrytest.Want{registrytest.Invalid(c0+".volumeMounts.subPath", "must not contain '..'")}},
		{"volume names twice", func(p *corev1.Pod) { p.Spec.Volumes[1].Name = "data" },
			[]registrytest.Want{registrytest.Duplicate("spec.volumes[1].name", ""),
				// The mount of "cfg" now refers to a volume that is gone.
				registrytest.NotFound(c0+".volumeMounts[1].name", "")}},
		{"volume name not a DNS label", func(p *corev1.Pod) {
			p.Spec.Volumes[0].Name = "Data"
			p.Spec.Containers[0].VolumeMounts[0].Name = "Data"
		},
			[]registrytest.Want{registrytest.Invalid("spec.volumes[0].name", dnsLabelMsg), registrytest.NotFound(c0+".volumeMounts[0].name", "")}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes[1].Secret = &corev1.SecretVolumeSource{SecretName: "s"}
		}, []registrytest.Want{registrytest.Forbidden("spec.volumes[1].configMap", "may not specify more than 1 volume type"),
			registrytest.NotFound(c0+".volumeMounts[1].name", "")}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir = nil },
			[]registrytest.Want{registrytest.Required("spec.volumes[0]", "must specify a volume type"), registrytest.NotFound(c0+".volumeMounts[0].name", "")}},
		{"configMap item path absolute", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.Items[0].Path = "/a" },
			[]registrytest.Want{registrytest.Invalid("spec.volumes[1].configMap.items[0].path", "must be a relative path"), registrytest.NotFound(c0+".volumeMounts[1].name", "")}},
		{"configMap mode too large", func(p *corev1.Pod) { p.Spec.Volumes[1].ConfigMap.DefaultMode = ptr.To[int32](01000) },
			[]registrytest.Want{registrytest.Invalid("spec.volumes[1].configMap.defaultMode", "must be a number between 0 and 0777 (octal), both inclusive"),
				registrytest.NotFound(c0+".volumeMounts[1].name", "")}},
		{"negative emptyDir size", func(p *corev1.Pod) { p.Spec.Volumes[0].EmptyDir.SizeLimit = ptr.To(resource.MustParse("-1")) },
			[]registrytest.Want{registrytest.Forbidden("spec.volumes[0].emptyDir.sizeLimit", "SizeLimit field must be a valid resource quantity"),
				registrytest.NotFound(c0+".volumeMounts[0].name", "")}},
		{"hostPath type unknown", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: ptr.To(corev1.HostPathType("Pipe"))}}})
		}, []registrytest.Want{registrytest.NotSupported("spec.volumes[3].hostPath.type", "")}},
		{"probe without handler", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.HTTPGet = nil },
			[]registrytest.Want{registrytest.Required(c0+".readinessProbe", "must specify a handler type")}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, []registrytest.Want{registrytest.Forbidden(c0+".livenessProbe.tcpSocket", "may not specify more than 1 handler type")}},
		{"liveness probe successThreshold", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2 },
			[]registrytest.Want{registrytest.Invalid(c0+".livenessProbe.successThreshold", "must be 1")}},
		{"probe negative period", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe.PeriodSeconds = -1 },
			[]registrytest.Want{registrytest.Invalid(c0+".readinessProbe.periodSeconds", "must be greater than or equal to 0")}},
		{"probe on an init container", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].ReadinessProbe = p.Spec.Containers[0].ReadinessProbe
		}, []registrytest.Want{registrytest.Forbidden("spec.initContainers[0].readinessProbe", "may not be set for init containers without restartPolicy=Always")}},
		{"sleep longer than grace period", func(p *corev1.Pod) { p.Spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds = 60 },
			[]registrytest.Want{registrytest.Invalid(c0+".lifecycle.preStop.sleep", "must be non-negative and less than terminationGracePeriodSeconds (30)")}},
		{"restartPolicy on an app container", func(p *corev1.Pod) { p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways) },
			[]registrytest.Want{registrytest.Forbidden(c0+".restartPolicy", "may not be set for non-init containers")}},
		{"terminationMessagePolicy unknown", func(p *corev1.Pod) { p.Spec.Containers[0].TerminationMessagePolicy = "Never" },
			[]registrytest.Want{registrytest.NotSupported(c0+".terminationMessagePolicy", `supported values: "File", "FallbackToLogsOnError"`)}},
		{"imagePullPolicy unknown", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			[]registrytest.Want{registrytest.NotSupported(c0+".imagePullPolicy", `supported values: "Always", "IfNotPresent", "Never"`)}},
		{"restartPolicy unknown", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			[]registrytest.Want{registrytest.NotSupported("spec.restartPolicy", `supported values: "Always", "OnFailure", "Never"`)}},
		{"dnsPolicy unknown", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" },
			[]registrytest.Want{registrytest.NotSupported("spec.dnsPolicy", `supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`)}},
		{"dnsPolicy None without dnsConfig", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone; p.Spec.DNSConfig = nil },
			[]registrytest.Want{registrytest.Required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")}},
		{"dns nameserver not an IP", func(p *corev1.Pod) { p.Spec.DNSConfig.Nameservers = []string{"dns.local"} },
			[]registrytest.Want{registrytest.Invalid("spec.dnsConfig.nameservers[0]", "")}},
		{"negative grace period: only the sleep hook objects", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			[]registrytest.Want{registrytest.Invalid(c0+".lifecycle.preStop.sleep", "must be non-negative and less than terminationGracePeriodSeconds (-1)")}},
		{"activeDeadlineSeconds zero", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0) },
			[]registrytest.Want{registrytest.Invalid("spec.activeDeadlineSeconds", "must be between 1 and 2147483647, inclusive")}},
		{"nodeSelector value invalid", func(p *corev1.Pod) { p.Spec.NodeSelector["disk"] = "ssd!" },
			[]registrytest.Want{registrytest.Invalid("spec.nodeSelector", "")}},
		{"hostname not a DNS label", func(p *corev1.Pod) { p.Spec.Hostname = "web.0" },
			[]registrytest.Want{registrytest.Invalid("spec.hostname", "must not contain dots")}},
		{"subdomain not a DNS label", func(p *corev1.Pod) { p.Spec.Subdomain = "Web" },
			[]registrytest.Want{registrytest.Invalid("spec.subdomain", dnsLabelMsg)}},
		{"toleration operator unknown", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = "In" },
			[]registrytest.Want{registrytest.NotSupported("spec.tolerations[0].operator", `supported values: "Equal", "Exists"`)}},
		{"toleration effect unknown", func(p *corev1.Pod) { p.Spec.Tolerations[0].Effect = "NoRun" },
			[]registrytest.Want{registrytest.NotSupported("spec.tolerations[0].effect", `supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`)}},
		{"tolerationSeconds without NoExecute", func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr.To[int64](5) },
			[]registrytest.Want{registrytest.Invalid("spec.tolerations[0].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set")}},
		{"toleration without key must use Exists", func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "" },
			[]registrytest.Want{registrytest.Invalid("spec.tolerations[0].operator", "operator must be Exists when `key` is empty, which means \"match all values and all keys\"")}},
		{"Exists toleration with a value", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = corev1.TolerationOpExists },
			[]registrytest.Want{registrytest.Invalid("spec.tolerations[0].operator", "value must be empty when `operator` is 'Exists'")}},
		{"node affinity without terms", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = nil
		}, []registrytest.Want{registrytest.Required("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", "must have at least one node selector term")}},
		{"node selector operator unknown", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Has"
		}, []registrytest.Want{registrytest.Invalid("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator", "not a valid selector operator")}},
		{"pod anti-affinity weight and topology key", func(p *corev1.Pod) {
			term := &p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0]
			term.Weight, term.PodAffinityTerm.TopologyKey = 0, ""
		}, []registrytest.Want{
			registrytest.Invalid("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "must be in the range 1-100"),
			registrytest.Required("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", "can not be empty"),
			// An empty key also fails the label key rules, twice.
			registrytest.Invalid("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", "name part must be non-empty"),
			registrytest.Invalid("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey", ""),
		}},
		{"pod affinity selector operator", func(p *corev1.Pod) {
			p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector.MatchExpressions =
				[]metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}}
		}, []registrytest.Want{registrytest.Required("spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchExpressions[0].values", "")}},
		{"topology spread maxSkew", func(p *corev1.Pod) { p.Spec.TopologySpreadConstraints[0].MaxSkew = 0 },
			[]registrytest.Want{registrytest.Invalid("spec.topologySpreadConstraints[0].maxSkew", "must be greater than zero")}},
		{"security context runAsUser", func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptr.To[int64](-1) },
			[]registrytest.Want{registrytest.Invalid("spec.securityContext.runAsUser", "must be between 0 and 2147483647, inclusive")}},
		{"sysctl with host network", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 80
			p.Spec.Containers[0].Ports[1].HostPort = 53
		}, []registrytest.Want{registrytest.Invalid("spec.securityContext.sysctls[0].name", "may not be specified when 'hostNetwork' is true")}},
		{"host network needs hostPort == containerPort", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.SecurityContext.Sysctls = nil
		}, []registrytest.Want{
			registrytest.Invalid(c0+".ports[0].hostPort", "must match `containerPort` when `hostNetwork` is true"),
			registrytest.Invalid(c0+".ports[1].hostPort", "must match `containerPort` when `hostNetwork` is true"),
		}},
		{"privileged without privilege escalation", func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true) },
			[]registrytest.Want{registrytest.Invalid(c0+".securityContext", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")}},
		{"seccomp type missing", func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.SeccompProfile.Type = "" },
			[]registrytest.Want{registrytest.Required(c0+".securityContext.seccompProfile.type", "type is required when seccompProfile is set")}},
		{"mirror annotation without node", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} },
			[]registrytest.Want{registrytest.Invalid("metadata.annotations[kubernetes.io/config.mirror]", "must set spec.nodeName if mirror pod annotation is set")}},
		{"deletion cost not an int32", func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.PodDeletionCost: "+5"} },
			[]registrytest.Want{registrytest.Invalid("metadata.annotations[controller.kubernetes.io/pod-deletion-cost]", "must be a 32bit integer")}},
		{"node name while gated", func(p *corev1.Pod) {
			p.Spec.NodeName = "n1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}, []registrytest.Want{registrytest.Forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared")}},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, []registrytest.Want{registrytest.Forbidden("spec.ephemeralContainers", "cannot be set on create")}},
		{"token projection without service account", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "" },
			[]registrytest.Want{registrytest.Forbidden("spec.volumes[2].projected.sources[0].serviceAccountToken", "must not be specified when serviceAccountName is not set")}},
		{"pod OS unknown", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} },
			[]registrytest.Want{registrytest.NotSupported("spec.os", `supported values: "linux", "windows"`)}},
		{"windows pod with linux settings", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} },
			[]registrytest.Want{
				registrytest.Forbidden("spec.securityContext.fsGroup", "cannot be set for a windows pod"),
				registrytest.Forbidden("spec.securityContext.sysctls", "cannot be set for a windows pod"),
				registrytest.Forbidden(c0+".securityContext.seccompProfile", "cannot be set for a windows pod"),
				registrytest.Forbidden(c0+".securityContext.allowPrivilegeEscalation", "cannot be set for a windows pod"),
				registrytest.Forbidden(c0+".securityContext.runAsUser", "cannot be set for a windows pod"),
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := podTestValidPod()
			c.mutate(pod)
			registrytest.ExpectExactly(t, validatePod(pod), registrytest.ExactDetails(c.want...)...)
		})
	}
}

// kubectl prints "<field>: <type>: <detail>"; check two of them end to end.
func TestPodValidationMessages(t *testing.T) {
	pod := podTestValidPod()
	pod.Spec.Containers[0].Image = ""
	pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("1")
	pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2")
	var msgs []string
	for _, e := range validatePod(pod) {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		"spec.containers[0].image: Required value",
		`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestPodTemplateSpecValidation(t *testing.T) {
	tmplPath := field.NewPath("spec", "template")
	cases := []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		want   []registrytest.Want
	}{
		{"valid", func(*corev1.PodTemplateSpec) {}, nil},
		{"host network template may leave hostPort unset", func(t *corev1.PodTemplateSpec) {
			t.Spec.HostNetwork = true
			t.Spec.SecurityContext.Sysctls = nil
			t.Spec.Containers[0].Ports[1].HostPort = 0
		}, nil},
		{"padded image is accepted in templates", func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = "nginx " }, nil},
		{"label errors are reported on <template>.labels", func(t *corev1.PodTemplateSpec) { t.Labels = map[string]string{"a b": "c"} },
			[]registrytest.Want{registrytest.Invalid("spec.template.labels", "")}},
		{"spec paths are under <template>.spec", func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = "" },
			[]registrytest.Want{registrytest.Required("spec.template.spec.containers[0].image", "")}},
		{"ephemeral containers", func(t *corev1.PodTemplateSpec) {
			t.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, []registrytest.Want{registrytest.Forbidden("spec.template.spec.ephemeralContainers", "ephemeral containers not allowed in pod template")}},
		{"grace period required when not defaulted", func(t *corev1.PodTemplateSpec) { t.Spec.TerminationGracePeriodSeconds = nil },
			[]registrytest.Want{registrytest.Required("spec.template.spec.terminationGracePeriodSeconds", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := podTestValidPod()
			tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: pod.Spec}
			c.mutate(tmpl)
			registrytest.ExpectExactly(t, ValidatePodTemplateSpec(tmpl, tmplPath), registrytest.ExactDetails(c.want...)...)
		})
	}
}
