package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podYAML indents a pod spec under a Pod bound to the test node.
func podYAML(name, spec string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  nodeName: " + nodeName + "\n" + spec
}

// waitPod waits until cond holds for the pod, and returns it.
func waitPod(t *testing.T, c kubernetes.Interface, name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	start := time.Now()
	defer func() { t.Logf("waited %v for pod %s: %s", time.Since(start).Round(100*time.Millisecond), name, what) }()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("pod %s: timed out after %v waiting for %s; last status: %+v", name, timeout, what, statusSummary(last))
	return nil
}

func statusSummary(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s", p.Status.Phase)
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " %s{ready=%v restarts=%d state=%+v last=%+v}", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
	}
	return b.String()
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestPodSharedNetworkAndVolume: a sidecar reaches the main container on
// localhost and reads a file it wrote into a shared emptyDir.
func TestPodSharedNetworkAndVolume(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("two", `  containers:
  - name: main
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo main-started; echo hello-from-main > /shared/msg; exec httpd -f -p 8080 -h /shared"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: side
    image: skiff.local/busybox:1
    command: ["sh", "-c", "until wget -qO- http://localhost:8080/msg; do sleep 0.2; done; echo read: $(cat /shared/msg); exec sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - name: shared
    emptyDir: {}
`), "apply", "-f", "-")
	p := waitPod(t, s.client(), "two", 60*time.Second, "both containers ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	if p.Status.PodIP == "" || !strings.HasPrefix(p.Status.PodIP, "10.42.") || p.Status.HostIP == "" {
		t.Fatalf("pod IPs: podIP %q hostIP %q", p.Status.PodIP, p.Status.HostIP)
	}
	eventually(t, 20*time.Second, "sidecar log", func() bool {
		out, _ := s.kubectl("logs", "two", "-c", "side")
		return strings.Contains(out, "hello-from-main") && strings.Contains(out, "read: hello-from-main")
	})
	contains(t, s.mustKubectl("logs", "two", "-c", "main"), "main-started")
	assertLines(t, s.mustKubectl("get", "pod", "two", "-o", "wide"), `^two\s+2/2\s+Running\s+0\s+\S+\s+10\.42\.\d+\.\d+\s+`+nodeName+`\s+<none>\s+<none>$`)
	desc := s.mustKubectl("describe", "pod", "two")
	assertLines(t, desc, `Normal\s+Created\s+.*kubelet\s+Created container: main`, `Normal\s+Started\s+.*kubelet\s+Started container side`)
	// kubectl picks the first container itself; the API asks for a name.
	contains(t, s.mustKubectl("logs", "two"), `Defaulted container "main" out of: main, side`, "main-started")
	out, err := s.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/two/log")
	if err == nil || !strings.Contains(out, "a container name must be specified for pod two, choose one of: [main side]") {
		t.Fatalf("log without a container: %v\n%s", err, out)
	}
}

// TestConfigMapAndSecretInPods: env and volumes from a ConfigMap and a
// Secret; an update of the ConfigMap reaches the mounted file.
func TestConfigMapAndSecretInPods(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectl("create", "configmap", "cfg", "--from-literal=color=blue", "--from-literal=size=L")
	s.mustKubectl("create", "secret", "generic", "sec", "--from-literal=password=hunter2")
	s.mustKubectlIn(podYAML("cfgpod", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo COLOR=$COLOR PASS=$PASS SIZE=$cfg_size POD=$POD_NAME; while true; do cat /etc/cfg/color; echo; sleep 1; done"]
    env:
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: cfg, key: color}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    envFrom:
    - {prefix: cfg_, configMapRef: {name: cfg}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
  volumes:
  - {name: cfg, configMap: {name: cfg}}
  - {name: sec, secret: {secretName: sec}}
`), "apply", "-f", "-")
	waitPod(t, s.client(), "cfgpod", 60*time.Second, "running", running)
	eventually(t, 20*time.Second, "env in the log", func() bool {
		out, _ := s.kubectl("logs", "cfgpod")
		return strings.Contains(out, "COLOR=blue PASS=hunter2 SIZE=L POD=cfgpod") && strings.Contains(out, "blue")
	})
	s.mustKubectl("patch", "configmap", "cfg", "--type=merge", "-p", `{"data":{"color":"green"}}`)
	eventually(t, 70*time.Second, "the ConfigMap update in the mounted file", func() bool {
		out, _ := s.kubectl("logs", "cfgpod", "--tail=1")
		return strings.TrimSpace(out) == "green"
	})
}

// TestCrashLoopBackOff: a container exiting 1 under restartPolicy Always is
// restarted with growing delays and reported as CrashLoopBackOff.
func TestCrashLoopBackOff(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("crash", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo attempt; exit 1"]
`), "apply", "-f", "-")
	c := s.client()
	starts := map[int32]time.Time{}
	var sawBackoff bool
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && len(starts) < 4 {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), "crash", metav1.GetOptions{})
		if err == nil && len(p.Status.ContainerStatuses) == 1 {
			cs := p.Status.ContainerStatuses[0]
			if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				sawBackoff = true
			}
			if t := cs.LastTerminationState.Terminated; t != nil && cs.State.Waiting != nil {
				if _, ok := starts[cs.RestartCount]; !ok {
					starts[cs.RestartCount] = t.StartedAt.Time
				}
			}
			if t := cs.State.Terminated; t != nil {
				if _, ok := starts[cs.RestartCount]; !ok {
					starts[cs.RestartCount] = t.StartedAt.Time
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sawBackoff || len(starts) < 4 {
		t.Fatalf("saw CrashLoopBackOff=%v, attempts %v", sawBackoff, starts)
	}
	gap1, gap2 := starts[2].Sub(starts[1]), starts[3].Sub(starts[2])
	if gap1 < 8*time.Second || gap2 < gap1+8*time.Second {
		t.Fatalf("back-off does not double: attempt gaps %v then %v (%v)", gap1, gap2, starts)
	}
	assertLines(t, s.mustKubectl("get", "pod", "crash"), `^crash\s+0/1\s+(CrashLoopBackOff|Error)\s+[3-9] \(\S+ ago\)\s+`)
	contains(t, s.mustKubectl("logs", "crash", "--previous"), "attempt")
	assertLines(t, s.mustKubectl("describe", "pod", "crash"), `Warning\s+BackOff\s+.*kubelet\s+Back-off restarting failed container c in pod crash_default`)
}
