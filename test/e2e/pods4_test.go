package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodSpecFeatures: init containers run in order before the app, a
// pod that completes is Succeeded, termination messages, runAsUser,
// downward API and projected volumes, a memory-backed emptyDir, and IPC
// shared between the containers of a pod.
func TestPodSpecFeatures(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("feat", `  restartPolicy: Never
  initContainers:
  - name: init1
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo first >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: init2
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo second >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: skiff.local/busybox:1
    command: ["sh", "-c", "cat /work/order; id -u; echo ns=$(cat /info/ns) name=$(cat /proj/name); mount | grep /mem; echo all-done > /dev/termination-log"]
    securityContext: {runAsUser: 1234}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: info, mountPath: /info}
    - {name: proj, mountPath: /proj}
    - {name: mem, mountPath: /mem}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  - name: info
    downwardAPI:
      items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]
  - name: proj
    projected:
      sources:
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
`), "apply", "-f", "-")
	c := s.client()
	p := waitPod(t, c, "feat", 60*time.Second, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Message != "all-done\n" || term.Reason != "Completed" {
		t.Fatalf("termination: %s", statusSummary(p))
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if term := cs.State.Terminated; term == nil || term.ExitCode != 0 {
			t.Fatalf("init container %s: %+v", cs.Name, cs.State)
		}
	}
	out := s.mustKubectl("logs", "feat", "-c", "app")
	contains(t, out, "first\nsecond\n", "1234\n", "ns=default name=feat", "tmpfs on /mem type tmpfs")
	assertLines(t, s.mustKubectl("get", "pod", "feat"), `^feat\s+0/1\s+Completed\s+0\s+`)
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodInitialized && cond.Status != corev1.ConditionTrue {
			t.Fatalf("Initialized: %+v", cond)
		}
	}
	// A failing init container under Never fails the pod.
	s.mustKubectlIn(podYAML("badinit", `  restartPolicy: Never
  initContainers:
  - name: init
    image: skiff.local/busybox:1
    command: ["sh", "-c", "exit 3"]
  containers:
  - name: app
    image: skiff.local/busybox:1
    command: ["true"]
`), "apply", "-f", "-")
	waitPod(t, c, "badinit", 60*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	assertLines(t, s.mustKubectl("get", "pod", "badinit"), `^badinit\s+0/1\s+Init:Error\s+0\s+`)
	ipc := `  containers:
  - name: a
    image: skiff.local/busybox:1
    command: ["sh", "-c", "mkfifo /dev/shm/f 2>/dev/null; echo shared > /dev/shm/msg; exec sleep 3600"]
  - name: b
    image: skiff.local/busybox:1
    command: ["sh", "-c", "until cat /dev/shm/msg; do sleep 0.2; done; exec sleep 3600"]
`
	s.mustKubectlIn(podYAML("ipc", ipc), "apply", "-f", "-")
	waitPod(t, c, "ipc", 60*time.Second, "running", running)
	eventually(t, 20*time.Second, "IPC namespace shared (/dev/shm)", func() bool {
		out, _ := s.kubectl("logs", "ipc", "-c", "b")
		return strings.Contains(out, "shared")
	})
	_, _ = c.CoreV1().Pods("default").Get(context.Background(), "ipc", metav1.GetOptions{})
}

// TestEmptyDirSizeLimit: a pod writing past its emptyDir's sizeLimit is
// evicted.
func TestEmptyDirSizeLimit(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("hog", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "dd if=/dev/zero of=/scratch/big bs=1M count=8; exec sleep 3600"]
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - {name: scratch, emptyDir: {sizeLimit: 2Mi}}
`), "apply", "-f", "-")
	p := waitPod(t, s.client(), "hog", 60*time.Second, "evicted", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted"
	})
	if !strings.Contains(p.Status.Message, `Usage of EmptyDir volume "scratch" exceeds the limit "2Mi"`) {
		t.Fatalf("eviction message %q", p.Status.Message)
	}
	eventually(t, 20*time.Second, "the evicted pod's container stopped", func() bool {
		out, _ := s.kubectl("get", "pod", "hog", "--no-headers")
		// kubectl prints the stopped container's reason once it is known.
		f := strings.Fields(out)
		return len(f) > 2 && f[1] == "0/1" && (f[2] == "Evicted" || f[2] == "Error")
	})
}
