package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestNodeDefaultAndPrepare(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24",
			ConfigSource: &corev1.NodeConfigSource{ConfigMap: &corev1.ConfigMapNodeConfigSource{Name: "x"}}},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{"cpu": resource.MustParse("4"), "pods": resource.MustParse("110")}},
	}
	registrytest.ExpectValid(t, strategyCreate(nodeStrategy, n))
	if !reflect.DeepEqual(n.Spec.PodCIDRs, []string{"10.244.0.0/24"}) {
		t.Errorf("podCIDRs = %v", n.Spec.PodCIDRs)
	}
	if n.Spec.ConfigSource != nil {
		t.Errorf("configSource kept")
	}
	if q := n.Status.Allocatable["pods"]; q.Value() != 110 {
		t.Errorf("allocatable = %v", n.Status.Allocatable)
	}
}

func TestNodeValidate(t *testing.T) {
	taint := func(key, value string, effect corev1.TaintEffect) corev1.Taint {
		return corev1.Taint{Key: key, Value: value, Effect: effect}
	}
	cases := []struct {
		name   string
		taints []corev1.Taint
		cidrs  []string
		cap    corev1.ResourceList
		want   []registrytest.Want
	}{
		{name: "valid", taints: []corev1.Taint{taint("dedicated", "gpu", corev1.TaintEffectNoSchedule), taint("dedicated", "gpu", corev1.TaintEffectNoExecute)},
			cidrs: []string{"10.244.0.0/24", "fd00:10:244::/64"}},
		{name: "bad taint key", taints: []corev1.Taint{taint("bad key", "", corev1.TaintEffectNoSchedule)},
			want: []registrytest.Want{registrytest.Invalid("metadata.taints[0].key", "")}},
		{name: "bad taint effect", taints: []corev1.Taint{taint("k", "", "Sometimes")},
			want: []registrytest.Want{registrytest.NotSupported("metadata.taints[0].effect", `"NoSchedule", "PreferNoSchedule", "NoExecute"`)}},
		{name: "missing effect", taints: []corev1.Taint{taint("k", "v", "")},
			want: []registrytest.Want{registrytest.Required("metadata.taints[0].effect", "")}},
		{name: "bad taint value", taints: []corev1.Taint{taint("k", "a b", corev1.TaintEffectNoSchedule)},
			want: []registrytest.Want{registrytest.Invalid("metadata.taints[0].value", "")}},
		{name: "duplicate taint", taints: []corev1.Taint{taint("k", "a", corev1.TaintEffectNoSchedule), taint("k", "b", corev1.TaintEffectNoSchedule)},
			want: []registrytest.Want{registrytest.Duplicate("metadata.taints[1]", "taints must be unique by key and effect pair")}},
		{name: "bad cidr", cidrs: []string{"10.244.0.0"}, want: []registrytest.Want{registrytest.Invalid("spec.podCIDRs[0]", "")}},
		{name: "two IPv4 cidrs", cidrs: []string{"10.244.0.0/24", "10.245.0.0/24"},
			want: []registrytest.Want{registrytest.Invalid("spec.podCIDRs", "may specify no more than one CIDR for each IP family")}},
		{name: "negative capacity", cap: corev1.ResourceList{"memory": resource.MustParse("-1Gi")},
			want: []registrytest.Want{registrytest.Invalid("status.capacity.memory", ""), registrytest.Invalid("status.allocatable.memory", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
				Spec: corev1.NodeSpec{Taints: c.taints, PodCIDRs: c.cidrs}, Status: corev1.NodeStatus{Capacity: c.cap}}
			registrytest.ExpectExactly(t, strategyCreate(nodeStrategy, n), c.want...)
		})
	}
}

func TestNodeUpdate(t *testing.T) {
	old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{ProviderID: "skiff://n1", PodCIDRs: []string{"10.244.0.0/24"}}}
	cases := []struct {
		name   string
		mutate func(*corev1.Node)
		want   []registrytest.Want
	}{
		{"cordon", func(n *corev1.Node) { n.Spec.Unschedulable = true }, nil},
		{"provider ID", func(n *corev1.Node) { n.Spec.ProviderID = "other://n1" }, []registrytest.Want{
			registrytest.Forbidden("spec.providerID", "node updates may not change providerID except from \"\" to valid")}},
		{"pod CIDR", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24"}; n.Spec.PodCIDR = "" }, []registrytest.Want{
			registrytest.Forbidden("spec.podCIDRs", "may not change podCIDR")}},
		{"duplicate address", func(n *corev1.Node) {
			a := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}
			n.Status.Addresses = []corev1.NodeAddress{a, a}
		}, []registrytest.Want{registrytest.Duplicate("status.addresses[1]", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := old.DeepCopy()
			c.mutate(n)
			registrytest.ExpectExactly(t, strategyUpdate(nodeStrategy, n, old), c.want...)
		})
	}
	unset := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}
	set := unset.DeepCopy()
	set.Spec.ProviderID, set.Spec.PodCIDRs = "skiff://n2", []string{"10.244.2.0/24"}
	registrytest.ExpectValid(t, strategyUpdate(nodeStrategy, set, unset))
}

func TestNodeTable(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
			"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.37.0", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "containerd://2.0"},
		},
	}
	want := []interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,edge,worker", "<unknown>", "v1.37.0",
		"10.0.0.1", "<none>", "Debian", "6.1", "containerd://2.0"}
	if row := nodeTable.Row(n); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v\nwant  %v", row, want)
	}
	statuses := map[string]*corev1.Node{
		"NotReady": {Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}}},
		"Unknown":  {},
	}
	for want, node := range statuses {
		if got := nodeTable.Row(node); got[1] != want || got[2] != "<none>" || got[7] != "<unknown>" {
			t.Errorf("row = %v, want status %s", got, want)
		}
	}
}
