package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestProbes: a liveness probe that starts failing restarts the container;
// a failing readiness probe leaves the pod Running but not Ready; an HTTP
// readiness probe follows the server's /healthz.
func TestProbes(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("live", `  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "touch /tmp/healthy; sleep 4; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 2
`), "apply", "-f", "-")
	s.mustKubectlIn(podYAML("unready", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/nonexistent"]}
      periodSeconds: 1
`), "apply", "-f", "-")
	s.mustKubectlIn(podYAML("web", `  containers:
  - name: c
    image: skiff.local/testserver:1
    args: ["serve", "--port", "8080"]
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
`), "apply", "-f", "-")
	c := s.client()
	waitPod(t, c, "live", 60*time.Second, "a liveness restart", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	assertLines(t, s.mustKubectl("describe", "pod", "live"), `Warning\s+Unhealthy\s+.*Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory`,
		`Normal\s+Killing\s+.*Container c failed liveness probe, will be restarted`)
	waitPod(t, c, "unready", 30*time.Second, "running", running)
	time.Sleep(3 * time.Second)
	p, _ := c.CoreV1().Pods("default").Get(context.Background(), "unready", metav1.GetOptions{})
	if !running(p) || ready(p) || p.Status.ContainerStatuses[0].Ready {
		t.Fatalf("unready pod: %s", statusSummary(p))
	}
	assertLines(t, s.mustKubectl("get", "pod", "unready"), `^unready\s+0/1\s+Running\s+0\s+`)
	web := waitPod(t, c, "web", 30*time.Second, "ready", ready)
	// The pod's address is reachable from the node: make /healthz fail.
	resp, err := http.Get("http://" + web.Status.PodIP + ":8080/fail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitPod(t, c, "web", 20*time.Second, "not ready after /fail", func(p *corev1.Pod) bool { return !ready(p) && running(p) })
	resp, err = http.Get("http://" + web.Status.PodIP + ":8080/recover")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitPod(t, c, "web", 20*time.Second, "ready again", ready)
}

// TestResourceLimits: a container over its memory limit is OOMKilled; a
// CPU limit shows in the container's cgroup.
func TestResourceLimits(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("oom", `  restartPolicy: Never
  containers:
  - name: c
    image: skiff.local/testserver:1
    args: ["alloc", "200"]
    resources:
      limits: {memory: 64Mi}
`), "apply", "-f", "-")
	s.mustKubectlIn(podYAML("cpu", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/memory/memory.limit_in_bytes; exec sleep 3600"]
    resources:
      requests: {cpu: 100m, memory: 32Mi}
      limits: {cpu: 250m, memory: 64Mi}
`), "apply", "-f", "-")
	c := s.client()
	p := waitPod(t, c, "oom", 60*time.Second, "OOMKilled", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		return term != nil && term.Reason == "OOMKilled"
	})
	if p.Status.Phase != corev1.PodFailed || p.Status.ContainerStatuses[0].State.Terminated.ExitCode != 137 {
		t.Fatalf("OOM pod: %s", statusSummary(p))
	}
	assertLines(t, s.mustKubectl("get", "pod", "oom"), `^oom\s+0/1\s+OOMKilled\s+0\s+`)
	waitPod(t, c, "cpu", 60*time.Second, "running", running)
	eventually(t, 20*time.Second, "cgroup limits in the log", func() bool {
		out, _ := s.kubectl("logs", "cpu")
		return strings.Contains(out, "25000\n100000\n67108864")
	})
	cpu, _ := c.CoreV1().Pods("default").Get(context.Background(), "cpu", metav1.GetOptions{})
	if cpu.Status.QOSClass != corev1.PodQOSBurstable {
		t.Fatalf("QoS class %q", cpu.Status.QOSClass)
	}
}

// TestGracefulDeletion: deleting a pod runs its preStop hook, then SIGTERM
// reaches the app, and the pod is gone once it exits.
func TestGracefulDeletion(t *testing.T) {
	s := startNodeServer(t)
	dir := t.TempDir()
	s.mustKubectlIn(podYAML("graceful", `  terminationGracePeriodSeconds: 20
  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "trap 'echo TERM >> /data/log; exit 0' TERM; echo started >> /data/log; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop >> /data/log"]}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    hostPath: {path: `+dir+`, type: Directory}
`), "apply", "-f", "-")
	waitPod(t, s.client(), "graceful", 60*time.Second, "running", running)
	eventually(t, 10*time.Second, "the app started", func() bool { return strings.Contains(readFileOr(filepath.Join(dir, "log")), "started") })
	start := time.Now()
	s.mustKubectl("delete", "pod", "graceful", "--timeout=60s")
	took := time.Since(start)
	log := readFileOr(filepath.Join(dir, "log"))
	if log != "started\nprestop\nTERM\n" {
		t.Fatalf("container saw %q", log)
	}
	if took > 15*time.Second {
		t.Fatalf("deletion took %v although the app exits on SIGTERM", took)
	}
}

func readFileOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestMissingImage: an image that cannot be pulled gives ErrImagePull and
// then ImagePullBackOff, and nothing crashes.
func TestMissingImage(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("noimage", `  containers:
  - name: c
    image: 127.0.0.1:1/nope/missing:1
`), "apply", "-f", "-")
	c := s.client()
	reasons := map[string]bool{}
	waitPod(t, c, "noimage", 60*time.Second, "ErrImagePull then ImagePullBackOff", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil {
			reasons[p.Status.ContainerStatuses[0].State.Waiting.Reason] = true
		}
		return reasons["ErrImagePull"] && reasons["ImagePullBackOff"]
	})
	desc := s.mustKubectl("describe", "pod", "noimage")
	assertLines(t, desc, `Warning\s+Failed\s+.*Failed to pull image "127.0.0.1:1/nope/missing:1": `, `Normal\s+BackOff\s+.*Back-off pulling image "127.0.0.1:1/nope/missing:1"`)
	assertLines(t, s.mustKubectl("get", "pod", "noimage"), `^noimage\s+0/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+`)
	if !readyz(s.mustRestHost()) {
		t.Fatal("server unhealthy after a failed pull")
	}
}
