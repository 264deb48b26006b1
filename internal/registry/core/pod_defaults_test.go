package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestPodSpecDefaults(t *testing.T) {
	spec := &corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "nginx",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}},
			Env: []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
				HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
				HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("0.0001")}},
		}},
	}
	DefaultPodSpec(spec)

	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"restartPolicy", spec.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", spec.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *spec.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", spec.SchedulerName, "default-scheduler"},
		{"securityContext", *spec.SecurityContext, corev1.PodSecurityContext{}},
		{"imagePullPolicy", spec.Containers[0].ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", spec.Containers[0].TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", spec.Containers[0].TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", spec.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP},
		{"port hostPort", spec.Containers[0].Ports[0].HostPort, int32(0)},
		{"fieldRef apiVersion", spec.Containers[0].Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"probe timeout", spec.Containers[0].LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe period", spec.Containers[0].LivenessProbe.PeriodSeconds, int32(10)},
		{"probe success", spec.Containers[0].LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failure", spec.Containers[0].LivenessProbe.FailureThreshold, int32(3)},
		{"probe http path", spec.Containers[0].LivenessProbe.HTTPGet.Path, "/"},
		{"probe http scheme", spec.Containers[0].LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"preStop http path", spec.Containers[0].Lifecycle.PreStop.HTTPGet.Path, "/"},
		{"cpu rounded up", spec.Containers[0].Resources.Limits.Cpu().String(), "1m"},
		// Pod-only defaults stay off templates.
		{"no requests from limits", spec.Containers[0].Resources.Requests == nil, true},
		{"no enableServiceLinks", spec.EnableServiceLinks == nil, true},
		{"no serviceAccountName", spec.ServiceAccountName, ""},
		{"no tolerations", len(spec.Tolerations), 0},
		{"no priority", spec.Priority == nil, true},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestPodSpecDefaultsKeepSetValues(t *testing.T) {
	spec := &corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		DNSPolicy:                     corev1.DNSDefault,
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		SchedulerName:                 "custom",
		Containers: []corev1.Container{{Name: "a", Image: "busybox", ImagePullPolicy: corev1.PullNever,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}},
	}
	DefaultPodSpec(spec)
	if spec.RestartPolicy != corev1.RestartPolicyNever || spec.DNSPolicy != corev1.DNSDefault ||
		*spec.TerminationGracePeriodSeconds != 5 || spec.SchedulerName != "custom" ||
		spec.Containers[0].ImagePullPolicy != corev1.PullNever ||
		spec.Containers[0].TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("defaulting overwrote set fields: %+v", spec)
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	digest := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := map[string]corev1.PullPolicy{
		"nginx":                            corev1.PullAlways,
		"nginx:latest":                     corev1.PullAlways,
		"nginx:1.25":                       corev1.PullIfNotPresent,
		"nginx@" + digest:                  corev1.PullIfNotPresent,
		"nginx:latest@" + digest:           corev1.PullAlways,
		"nginx:1.25@" + digest:             corev1.PullIfNotPresent,
		"localhost:5000/app":               corev1.PullAlways,
		"localhost:5000/app:v1":            corev1.PullIfNotPresent,
		"registry.example.com/team/app:v2": corev1.PullIfNotPresent,
		"Registry.Example.com/app":         corev1.PullAlways,
		"UPPER":                            corev1.PullIfNotPresent,
		"":                                 corev1.PullIfNotPresent,
		"nginx:":                           corev1.PullIfNotPresent,
	}
	for image, want := range cases {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestVolumeDefaults(t *testing.T) {
	spec := &corev1.PodSpec{
		Containers: []corev1.Container{{Name: "a", Image: "a"}},
		Volumes: []corev1.Volume{
			{Name: "none"},
			{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
			{Name: "dapi", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "n", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
			{Name: "mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptr.To[int32](0400)}}},
		},
	}
	DefaultPodSpec(spec)
	v := spec.Volumes
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"no source is emptyDir", v[0].EmptyDir != nil, true},
		{"secret mode", *v[1].Secret.DefaultMode, int32(420)},
		{"configMap mode", *v[2].ConfigMap.DefaultMode, int32(420)},
		{"hostPath type", *v[3].HostPath.Type, corev1.HostPathUnset},
		{"downwardAPI mode", *v[4].DownwardAPI.DefaultMode, int32(420)},
		{"downwardAPI fieldRef", v[4].DownwardAPI.Items[0].FieldRef.APIVersion, "v1"},
		{"projected mode", *v[5].Projected.DefaultMode, int32(420)},
		{"token expiry", *v[5].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, int64(3600)},
		{"set mode kept", *v[6].Secret.DefaultMode, int32(0400)},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func podTestBarePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "nginx:1.25",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			},
		}}},
	}
}

func TestPodDefaults(t *testing.T) {
	pod := podTestBarePod()
	defaultPod(pod)
	s := &pod.Spec
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
		Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}
	unreachable := notReady
	unreachable.Key = corev1.TaintNodeUnreachable
	checks := []struct {
		name      string
		got, want interface{}
	}{
		{"serviceAccountName", s.ServiceAccountName, "default"},
		{"serviceAccount", s.DeprecatedServiceAccount, "default"},
		{"priority", *s.Priority, int32(0)},
		{"preemptionPolicy", *s.PreemptionPolicy, corev1.PreemptLowerPriority},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"tolerations", s.Tolerations, []corev1.Toleration{notReady, unreachable}},
		{"memory request from limit", s.Containers[0].Resources.Requests.Memory().String(), "1Gi"},
		{"cpu request kept", s.Containers[0].Resources.Requests.Cpu().String(), "500m"},
		{"no hostPort without hostNetwork", s.Containers[0].Ports[0].HostPort, int32(0)},
		{"pod spec defaults too", s.RestartPolicy, corev1.RestartPolicyAlways},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestPodDefaultsAdmissionCases(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		check  func(*corev1.Pod) bool
	}{
		{"deprecated serviceAccount is used",
			func(p *corev1.Pod) { p.Spec.DeprecatedServiceAccount = "builder" },
			func(p *corev1.Pod) bool {
				return p.Spec.ServiceAccountName == "builder" && p.Spec.DeprecatedServiceAccount == "builder"
			}},
		{"serviceAccountName wins over serviceAccount",
			func(p *corev1.Pod) { p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "a", "b" },
			func(p *corev1.Pod) bool {
				return p.Spec.ServiceAccountName == "a" && p.Spec.DeprecatedServiceAccount == "a"
			}},
		{"mirror pods get no service account",
			func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} },
			func(p *corev1.Pod) bool { return p.Spec.ServiceAccountName == "" }},
		{"system priority class is resolved",
			func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" },
			func(p *corev1.Pod) bool {
				return *p.Spec.Priority == 2000001000 && *p.Spec.PreemptionPolicy == corev1.PreemptLowerPriority
			}},
		{"unknown priority class is left alone",
			func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" },
			func(p *corev1.Pod) bool { return p.Spec.Priority == nil && p.Spec.PreemptionPolicy == nil }},
		{"existing not-ready toleration is kept, only unreachable added",
			func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists}}
			},
			func(p *corev1.Pod) bool {
				return len(p.Spec.Tolerations) == 2 && p.Spec.Tolerations[1].Key == corev1.TaintNodeUnreachable &&
					p.Spec.Tolerations[0].TolerationSeconds == nil
			}},
		{"tolerate-everything adds nothing",
			func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} },
			func(p *corev1.Pod) bool { return len(p.Spec.Tolerations) == 1 }},
		{"NoSchedule toleration does not count",
			func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
			},
			func(p *corev1.Pod) bool { return len(p.Spec.Tolerations) == 3 }},
		{"host network copies container ports to host ports",
			func(p *corev1.Pod) { p.Spec.HostNetwork = true },
			func(p *corev1.Pod) bool { return p.Spec.Containers[0].Ports[0].HostPort == 8080 }},
		{"explicit enableServiceLinks false is kept",
			func(p *corev1.Pod) { p.Spec.EnableServiceLinks = ptr.To(false) },
			func(p *corev1.Pod) bool { return !*p.Spec.EnableServiceLinks }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := podTestBarePod()
			c.mutate(pod)
			defaultPod(pod)
			if !c.check(pod) {
				t.Errorf("unexpected result: %+v", pod.Spec)
			}
		})
	}
}

func TestPodDefaultsIdempotent(t *testing.T) {
	pod := podTestBarePod()
	pod.Spec.HostNetwork = true
	pod.Spec.Volumes = []corev1.Volume{{Name: "v"}}
	defaultPod(pod)
	again := pod.DeepCopy()
	defaultPod(again)
	if !equality.Semantic.DeepEqual(pod, again) {
		t.Errorf("second defaulting changed the pod:\n%+v\n%+v", pod.Spec, again.Spec)
	}
}
