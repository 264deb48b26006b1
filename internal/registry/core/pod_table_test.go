package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPodTableColumns(t *testing.T) {
	var names []string
	var wide []string
	for _, c := range podTable.Columns {
		names = append(names, c.Name)
		if c.Priority == 1 {
			wide = append(wide, c.Name)
		}
	}
	want := []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	if !reflect.DeepEqual(wide, want[5:]) {
		t.Errorf("wide columns = %v", wide)
	}
	if podTable.Columns[0].Format != "name" {
		t.Errorf("first column is not the name column")
	}
}

func podTestTablePod(mutate func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute))},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init"}},
			Containers:     []corev1.Container{{Name: "app"}, {Name: "log"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	mutate(pod)
	return pod
}

func podTestRunning(ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func podTestNamed(name string, s corev1.ContainerStatus) corev1.ContainerStatus {
	s.Name = name
	return s
}

func podTestWaiting(reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func podTestTerminated(reason string, code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}}
}

func TestPodTableRows(t *testing.T) {
	initDone := podTestNamed("init", podTestTerminated("Completed", 0))
	cases := []struct {
		name                    string
		mutate                  func(*corev1.Pod)
		ready, status, restarts string
	}{
		{"pending without statuses", func(*corev1.Pod) {}, "0/2", "Pending", "0"},
		{"init container running", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{podTestNamed("init", podTestRunning(false))}
		}, "0/2", "Init:0/1", "0"},
		{"init image pull error", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{podTestNamed("init", podTestWaiting("ErrImagePull"))}
		}, "0/2", "Init:ErrImagePull", "0"},
		{"init failed with a reason", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{podTestNamed("init", podTestTerminated("Error", 1))}
		}, "0/2", "Init:Error", "0"},
		{"init failed without a reason", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{podTestNamed("init", podTestTerminated("", 3))}
		}, "0/2", "Init:ExitCode:3", "0"},
		{"init waiting PodInitializing counts as progress", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{podTestNamed("init", podTestWaiting("PodInitializing"))}
		}, "0/2", "Init:0/1", "0"},
		{"containers creating", func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestWaiting("ContainerCreating")), podTestNamed("log", podTestWaiting("ContainerCreating"))}
		}, "0/2", "ContainerCreating", "0"},
		{"running and ready", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestRunning(true)), podTestNamed("log", podTestRunning(true))}
		}, "2/2", "Running", "0"},
		{"crash loop", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			crash := podTestNamed("app", podTestWaiting("CrashLoopBackOff"))
			crash.RestartCount = 2
			crash.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(time.Now().Add(-5 * time.Minute))}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{crash, podTestNamed("log", podTestRunning(true))}
		}, "1/2", "CrashLoopBackOff", "2 (5m ago)"},
		{"restarts without a finish time", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			r := podTestNamed("app", podTestRunning(true))
			r.RestartCount = 4
			p.Status.ContainerStatuses = []corev1.ContainerStatus{r, podTestNamed("log", podTestRunning(true))}
		}, "2/2", "Running", "4"},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestTerminated("Completed", 0)), podTestNamed("log", podTestTerminated("Completed", 0))}
		}, "0/2", "Completed", "0"},
		{"one completed, one running, pod not ready", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestTerminated("Completed", 0)), podTestNamed("log", podTestRunning(true))}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		}, "1/2", "NotReady", "0"},
		{"one completed, one running, pod ready", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestTerminated("Completed", 0)), podTestNamed("log", podTestRunning(true))}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}, "1/2", "Running", "0"},
		{"killed by a signal", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{initDone}
			s := podTestNamed("app", podTestTerminated("", 137))
			s.State.Terminated.Signal = 9
			p.Status.ContainerStatuses = []corev1.ContainerStatus{s}
		}, "0/2", "Signal:9", "0"},
		{"evicted", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "Evicted" }, "0/2", "Evicted", "0"},
		{"scheduling gated", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated"}}
		}, "0/2", "SchedulingGated", "0"},
		{"terminating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}, "0/2", "Terminating", "0"},
		{"terminated pods are not terminating", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}, "0/2", "Succeeded", "0"},
		{"node lost", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Reason = "NodeLost"
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}, "0/2", "Unknown", "0"},
		{"sidecar counts toward ready", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Spec.InitContainers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			side := podTestNamed("init", podTestRunning(true))
			side.Started = ptr.To(true)
			side.RestartCount = 1
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{side}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{podTestNamed("app", podTestRunning(true)), podTestNamed("log", podTestRunning(true))}
		}, "3/3", "Running", "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row := podTable.Row(podTestTablePod(c.mutate))
			if len(row) != len(podTable.Columns) {
				t.Fatalf("row has %d cells for %d columns", len(row), len(podTable.Columns))
			}
			if row[0] != "web" || row[1] != c.ready || row[2] != c.status || row[3] != c.restarts || row[4] != "10m" {
				t.Errorf("row = %q, want web %s %s %s 10m", row[:5], c.ready, c.status, c.restarts)
			}
		})
	}
}

func TestPodTableWideCells(t *testing.T) {
	pod := podTestTablePod(func(p *corev1.Pod) {})
	if got := podTable.Row(pod)[5:]; !reflect.DeepEqual(got, []interface{}{"<none>", "<none>", "<none>", "<none>"}) {
		t.Errorf("empty wide cells = %q", got)
	}
	pod.Spec.NodeName = "node-1"
	pod.Status.NominatedNodeName = "node-2"
	pod.Status.PodIP = "10.0.0.9"
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.9"}, {IP: "fd00::9"}}
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: "a", Status: corev1.ConditionTrue}, {Type: "b", Status: corev1.ConditionFalse}}
	if got := podTable.Row(pod)[5:]; !reflect.DeepEqual(got, []interface{}{"10.0.0.9", "node-1", "node-2", "1/2"}) {
		t.Errorf("wide cells = %q", got)
	}
}
