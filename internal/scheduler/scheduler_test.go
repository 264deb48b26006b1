package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func testNode(name, cpu string, taints ...corev1.Taint) *corev1.Node {
	alloc := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func testPod(name, cpu string, prio int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			SchedulerName: DefaultSchedulerName, Priority: &prio,
			Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
			}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
}

// fakeCluster is a fake clientset whose pods/binding sets spec.nodeName
// as the API server does.
func fakeCluster(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	c := fake.NewSimpleClientset(objs...)
	c.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := a.(clienttesting.CreateAction).GetObject().(*corev1.Binding)
		obj, err := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		pod.Spec.NodeName = b.Target.Name
		return true, b, c.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, b.Namespace)
	})
	return c
}

func runScheduler(t *testing.T, c *fake.Clientset) {
	t.Helper()
	s, err := New(Config{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitPod(t *testing.T, c *fake.Clientset, name string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	for i := 0; i < 200; i++ {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("pod %s did not reach the state; last: %+v", name, last)
	return nil
}

func TestSchedulerBindsToTheNodeThatFits(t *testing.T) {
	c := fakeCluster(t, testNode("small", "1"), testNode("big", "4"))
	runScheduler(t, c)
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), testPod("p", "2", 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "p", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	if p.Spec.NodeName != "big" {
		t.Fatalf("bound to %s, want big", p.Spec.NodeName)
	}
}

func TestSchedulerReportsWhyNothingFits(t *testing.T) {
	c := fakeCluster(t, testNode("a", "1"),
		testNode("b", "8", corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}),
		testNode("c", "8", corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}))
	runScheduler(t, c)
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), testPod("p", "2", 0), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}. " +
		"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
	p := waitPod(t, c, "p", func(p *corev1.Pod) bool { return podScheduledCondition(p) != nil })
	cond := podScheduledCondition(p)
	if cond.Status != corev1.ConditionFalse || cond.Reason != corev1.PodReasonUnschedulable || cond.Message != want {
		t.Fatalf("PodScheduled = %s/%s %q\nwant False/Unschedulable %q", cond.Status, cond.Reason, cond.Message, want)
	}
	// A new node that fits lets it schedule, without polling.
	if _, err := c.CoreV1().Nodes().Create(context.Background(), testNode("d", "4"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, c, "p", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	if p.Spec.NodeName != "d" {
		t.Fatalf("bound to %s, want d", p.Spec.NodeName)
	}
}

func TestSchedulerFillsNodesExactly(t *testing.T) {
	c := fakeCluster(t, testNode("a", "2"), testNode("b", "2"))
	runScheduler(t, c)
	for i := 0; i < 5; i++ {
		if _, err := c.CoreV1().Pods("default").Create(context.Background(), testPod(fmt.Sprintf("p%d", i), "1", 0), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bound := map[string]int{}
	for i := 0; i < 4; i++ {
		p := waitPod(t, c, fmt.Sprintf("p%d", i), func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
		bound[p.Spec.NodeName]++
	}
	if bound["a"] != 2 || bound["b"] != 2 {
		t.Fatalf("placement %v, want 2 on each node", bound)
	}
	p := waitPod(t, c, "p4", func(p *corev1.Pod) bool { return podScheduledCondition(p) != nil })
	if msg := podScheduledCondition(p).Message; !strings.HasPrefix(msg, "0/2 nodes are available: 2 Insufficient cpu.") {
		t.Fatalf("fifth pod: %q", msg)
	}
}

func TestSchedulerPreemptsLowerPriority(t *testing.T) {
	low := testPod("low", "2", 0)
	low.Spec.NodeName = "a"
	low.Status.Phase = corev1.PodRunning
	c := fakeCluster(t, testNode("a", "2"), low)
	runScheduler(t, c)
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), testPod("high", "2", 1000), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c, "high", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName != "" })
	if p.Status.NominatedNodeName != "a" {
		t.Fatalf("nominated %q, want a", p.Status.NominatedNodeName)
	}
	if _, err := c.CoreV1().Pods("default").Get(context.Background(), "low", metav1.GetOptions{}); err == nil {
		t.Fatal("the low-priority pod was not deleted")
	}
	p = waitPod(t, c, "high", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	if p.Spec.NodeName != "a" {
		t.Fatalf("bound to %s, want a", p.Spec.NodeName)
	}
}

func TestSchedulerSkipsOtherSchedulersAndGatedPods(t *testing.T) {
	c := fakeCluster(t, testNode("a", "4"))
	runScheduler(t, c)
	other := testPod("other", "1", 0)
	other.Spec.SchedulerName = "my-scheduler"
	gated := testPod("gated", "1", 0)
	gated.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}}
	for _, p := range []*corev1.Pod{other, gated, testPod("mine", "1", 0)} {
		if _, err := c.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, c, "mine", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	for _, name := range []string{"other", "gated"} {
		p, _ := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if p.Spec.NodeName != "" {
			t.Errorf("%s was bound to %s", name, p.Spec.NodeName)
		}
	}
}
