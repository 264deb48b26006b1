package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func podTestResources(limits, requests map[corev1.ResourceName]string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{}
	if limits != nil {
		r.Limits = corev1.ResourceList{}
		for k, v := range limits {
			r.Limits[k] = resource.MustParse(v)
		}
	}
	if requests != nil {
		r.Requests = corev1.ResourceList{}
		for k, v := range requests {
			r.Requests[k] = resource.MustParse(v)
		}
	}
	return r
}

func TestPodPrepareForCreateQOS(t *testing.T) {
	cpuMem := map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "1Gi"}
	cases := []struct {
		name  string
		ctrs  []corev1.ResourceRequirements
		inits []corev1.ResourceRequirements
		want  corev1.PodQOSClass
	}{
		{"nothing set", []corev1.ResourceRequirements{{}}, nil, corev1.PodQOSBestEffort},
		{"only other resources", []corev1.ResourceRequirements{podTestResources(nil, map[corev1.ResourceName]string{corev1.ResourceEphemeralStorage: "1Gi"})}, nil, corev1.PodQOSBestEffort},
		{"requests only", []corev1.ResourceRequirements{podTestResources(nil, map[corev1.ResourceName]string{corev1.ResourceCPU: "100m"})}, nil, corev1.PodQOSBurstable},
		{"limits only (requests defaulted)", []corev1.ResourceRequirements{podTestResources(cpuMem, nil)}, nil, corev1.PodQOSGuaranteed},
		{"requests below limits", []corev1.ResourceRequirements{podTestResources(cpuMem, map[corev1.ResourceName]string{corev1.ResourceCPU: "500m"})}, nil, corev1.PodQOSBurstable},
		{"cpu limit only", []corev1.ResourceRequirements{podTestResources(map[corev1.ResourceName]string{corev1.ResourceCPU: "1"}, nil)}, nil, corev1.PodQOSBurstable},
		{"one container without limits", []corev1.ResourceRequirements{podTestResources(cpuMem, nil), {}}, nil, corev1.PodQOSBurstable},
		{"init container without limits", []corev1.ResourceRequirements{podTestResources(cpuMem, nil)}, []corev1.ResourceRequirements{{}}, corev1.PodQOSBurstable},
		{"all guaranteed", []corev1.ResourceRequirements{podTestResources(cpuMem, nil)}, []corev1.ResourceRequirements{podTestResources(cpuMem, nil)}, corev1.PodQOSGuaranteed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
			for i, r := range c.ctrs {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "c" + string(rune('a'+i)), Image: "x", Resources: r})
			}
			for i, r := range c.inits {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: "i" + string(rune('a'+i)), Image: "x", Resources: r})
			}
			pod.Status.Phase = corev1.PodRunning
			podStrategy.Default(pod)
			podStrategy.PrepareForCreate(pod)
			if pod.Status.Phase != corev1.PodPending || pod.Status.QOSClass != c.want {
				t.Errorf("status = %s/%s, want Pending/%s", pod.Status.Phase, pod.Status.QOSClass, c.want)
			}
		})
	}
}

func TestPodPrepareForCreateGatesAndLabelKeys(t *testing.T) {
	pod := podTestValidPod()
	pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
	anti := &pod.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	anti.MatchLabelKeys = []string{"app", "missing"}
	pod.Spec.TopologySpreadConstraints[0].MatchLabelKeys = []string{"app"}
	podStrategy.PrepareForCreate(pod)

	conds := pod.Status.Conditions
	if len(conds) != 1 || conds[0].Type != corev1.PodScheduled || conds[0].Status != corev1.ConditionFalse || conds[0].Reason != "SchedulingGated" {
		t.Errorf("conditions = %+v", conds)
	}
	want := []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}
	if got := anti.LabelSelector.MatchExpressions; len(got) != 1 || got[0].Key != want[0].Key || got[0].Operator != want[0].Operator || got[0].Values[0] != "web" {
		t.Errorf("affinity expressions = %+v", got)
	}
	if got := pod.Spec.TopologySpreadConstraints[0].LabelSelector.MatchExpressions; len(got) != 1 || got[0].Values[0] != "web" {
		t.Errorf("spread expressions = %+v", got)
	}
}

func TestPodUpdateValidation(t *testing.T) {
	forbiddenPrefix := "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	cases := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		want   []registrytest.Want
	}{
		{"no change", nil, func(*corev1.Pod) {}, nil},
		{"image change", nil, func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "nginx:1.26"
			p.Spec.InitContainers[0].Image = "busybox:1"
		}, nil},
		{"image cleared", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]registrytest.Want{registrytest.Required("spec.containers[0].image", "")}},
		{"command change", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"sh"} },
			[]registrytest.Want{registrytest.Forbidden("spec", "")}},
		{"container added", nil, func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) },
			[]registrytest.Want{registrytest.Forbidden("spec.containers", "pod updates may not add or remove containers")}},
		{"activeDeadlineSeconds lowered", nil, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) }, nil},
		{"activeDeadlineSeconds set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) }, nil},
		{"activeDeadlineSeconds raised", nil, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](7200) },
			[]registrytest.Want{registrytest.Invalid("spec.activeDeadlineSeconds", "must be less than or equal to previous value")}},
		{"activeDeadlineSeconds removed", nil, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			[]registrytest.Want{registrytest.Invalid("spec.activeDeadlineSeconds", "must not update from a positive integer to nil value")}},
		{"toleration added", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists})
		}, nil},
		{"tolerationSeconds changed", nil, func(p *corev1.Pod) { p.Spec.Tolerations[1].TolerationSeconds = ptr.To[int64](10) }, nil},
		{"toleration removed", nil, func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[1:] },
			[]registrytest.Want{registrytest.Forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")}},
		{"scheduling gate removed", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "b"}} },
			func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "b"}} }, nil},
		{"scheduling gate added", nil, func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "c"}} },
			[]registrytest.Want{registrytest.Forbidden("spec.schedulingGates[0].name", "only deletion is allowed, but found new scheduling gate 'c'")}},
		{"gated pod gains a node selector entry", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}} },
			func(p *corev1.Pod) { p.Spec.NodeSelector["disk"] = "ssd" }, nil},
		{"gated pod changes a node selector entry", func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}} },
			func(p *corev1.Pod) { p.Spec.NodeSelector["kubernetes.io/os"] = "windows" },
			[]registrytest.Want{registrytest.Invalid("spec.nodeSelector", "only additions to spec.nodeSelector are allowed (no mutations or deletions)")}},
		{"running pod changes its node selector", nil, func(p *corev1.Pod) { p.Spec.NodeSelector["disk"] = "ssd" },
			[]registrytest.Want{registrytest.Forbidden("spec", "")}},
		{"grace period changed", nil, func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](10) },
			[]registrytest.Want{registrytest.Forbidden("spec", "")}},
		{"negative grace period set to 1", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-5) },
			func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1) }, nil},
		{"mirror annotation added", nil, func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} },
			[]registrytest.Want{registrytest.Forbidden("metadata.annotations[kubernetes.io/config.mirror]", "may not add mirror pod annotation")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := podTestValidPod()
			if c.old != nil {
				c.old(old)
			}
			pod := old.DeepCopy()
			c.mutate(pod)
			errs := podStrategy.ValidateUpdate(pod, old)
			registrytest.ExpectExactly(t, errs, registrytest.ExactDetails(c.want...)...)
			for _, e := range errs {
				if e.Field == "spec" && (!strings.HasPrefix(e.Detail, forbiddenPrefix) || len(e.Detail) == len(forbiddenPrefix)) {
					t.Errorf("forbidden detail lacks the field list or the diff: %q", e.Detail)
				}
			}
		})
	}
}

func TestPodPrepareForUpdateKeepsPriority(t *testing.T) {
	old := podTestValidPod()
	old.Spec.Priority = ptr.To[int32](1000)
	pod := old.DeepCopy()
	pod.Spec.Priority, pod.Spec.PreemptionPolicy = nil, nil
	podStrategy.PrepareForUpdate(pod, old)
	if pod.Spec.Priority == nil || *pod.Spec.Priority != 1000 || pod.Spec.PreemptionPolicy == nil {
		t.Errorf("priority not kept: %v %v", pod.Spec.Priority, pod.Spec.PreemptionPolicy)
	}
}

func TestPodStatusValidation(t *testing.T) {
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	cases := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		want   []registrytest.Want
	}{
		{"running with IPs", nil, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP = "10.1.0.5"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.5"}, {IP: "fd00::5"}}
			p.Status.HostIP = "192.168.1.2"
			p.Status.HostIPs = []corev1.HostIP{{IP: "192.168.1.2"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: "example.com/ok", Status: corev1.ConditionTrue}}
		}, nil},
		{"pod IP invalid", nil, func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.300"}} },
			[]registrytest.Want{registrytest.Invalid("status.podIPs[0]", "")}},
		{"two IPv4 pod IPs", nil, func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.5"}, {IP: "10.1.0.6"}} },
			[]registrytest.Want{registrytest.Invalid("status.podIPs", "may specify no more than one IP for each IP family")}},
		{"QoS class changed", nil, func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			[]registrytest.Want{registrytest.Invalid("status.qosClass", "field is immutable")}},
		{"QoS class dropped", nil, func(p *corev1.Pod) { p.Status.QOSClass = "" }, nil},
		{"nominated node invalid", nil, func(p *corev1.Pod) { p.Status.NominatedNodeName = "Node_1" },
			[]registrytest.Want{registrytest.Invalid("status.nominatedNodeName", "")}},
		{"custom condition type invalid", nil, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: "bad type", Status: corev1.ConditionTrue}}
		}, []registrytest.Want{registrytest.Invalid("metadata.conditions[0].Type", "")}},
		{"terminated container restarts with restartPolicy Never", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: terminated}}
		}, func(p *corev1.Pod) { p.Status.ContainerStatuses[0].State = running },
			[]registrytest.Want{registrytest.Forbidden("status.containerStatuses[0].state", "may not be transitioned to non-terminated state")}},
		{"terminated container restarts with restartPolicy Always", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: terminated}}
		}, func(p *corev1.Pod) { p.Status.ContainerStatuses[0].State = running }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := podTestValidPod()
			podStrategy.PrepareForCreate(old)
			if c.old != nil {
				c.old(old)
			}
			pod := old.DeepCopy()
			c.mutate(pod)
			registrytest.ExpectExactly(t, podStrategy.ValidateStatus(pod, old), registrytest.ExactDetails(c.want...)...)
		})
	}
}

func TestPodWarnings(t *testing.T) {
	pod := podTestValidPod()
	if w := podStrategy.Warnings(pod); len(w) != 0 {
		t.Errorf("unexpected warnings %v", w)
	}
	pod.Name = "web.example"
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1)
	pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{})
	w := podStrategy.Warnings(pod)
	if len(w) != 3 || !strings.HasPrefix(w[0], "metadata.name: this is used in the Pod's hostname") ||
		w[1] != `spec.imagePullSecrets[1].name: invalid empty name ""` ||
		w[2] != "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1" {
		t.Errorf("warnings = %q", w)
	}
}
