package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodRuntimeOptions: hostPort mappings, capabilities and privileged
// containers, postStart hooks and the image pull policies.
func TestPodRuntimeOptions(t *testing.T) {
	s := startNodeServer(t)
	port := freePort(t)
	s.mustKubectlIn(podYAML("ports", fmt.Sprintf(`  containers:
  - name: web
    image: skiff.local/testserver:1
    args: ["serve", "--port", "8080"]
    ports: [{containerPort: 8080, hostPort: %d}]
    lifecycle:
      postStart:
        exec: {command: ["/testserver", "cat", "/proc/self/status"]}
  - name: caps
    image: skiff.local/busybox:1
    command: ["sh", "-c", "ip addr add 127.0.0.2/8 dev lo && echo cap-ok; exec sleep 3600"]
    securityContext:
      capabilities: {add: [NET_ADMIN]}
  - name: nocaps
    image: skiff.local/busybox:1
    command: ["sh", "-c", "ip addr add 127.0.0.3/8 dev lo || echo cap-denied; exec sleep 3600"]
  - name: priv
    image: skiff.local/busybox:1
    command: ["sh", "-c", "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo priv-ok; exec sleep 3600"]
    securityContext: {privileged: true}
`, port)), "apply", "-f", "-")
	c := s.client()
	p := waitPod(t, c, "ports", 60*time.Second, "running", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	node, err := c.CoreV1().Nodes().Get(context.Background(), nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hostIP := node.Status.Addresses[0].Address
	eventually(t, 20*time.Second, "the hostPort on the node's address", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/healthz", hostIP, port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), "ok")
	})
	for container, want := range map[string]string{"caps": "cap-ok", "nocaps": "cap-denied", "priv": "priv-ok"} {
		container, want := container, want
		eventually(t, 20*time.Second, container+" output", func() bool {
			out, _ := s.kubectl("logs", "ports", "-c", container)
			return strings.Contains(out, want)
		})
	}
	if p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("postStart hook failed: %s", statusSummary(p))
	}
	s.mustKubectlIn(podYAML("never", `  containers:
  - name: c
    image: skiff.local/absent:1
    imagePullPolicy: Never
`), "apply", "-f", "-")
	waitPod(t, c, "never", 30*time.Second, "ErrImageNeverPull", func(p *corev1.Pod) bool {
		w := p.Status.ContainerStatuses
		return len(w) == 1 && w[0].State.Waiting != nil && w[0].State.Waiting.Reason == "ErrImageNeverPull" &&
			strings.Contains(w[0].State.Waiting.Message, `Container image "skiff.local/absent:1" is not present with pull policy of Never`)
	})
}

// TestLogRotation: a container writing more than 10 MiB gets its log
// rotated; kubectl logs keeps working on the new file.
func TestLogRotation(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(podYAML("loud", `  containers:
  - name: c
    image: skiff.local/busybox:1
    command: ["sh", "-c", "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c 12000000; echo; echo after-burst; while true; do echo tick; sleep 1; done"]
`), "apply", "-f", "-")
	waitPod(t, s.client(), "loud", 60*time.Second, "running", running)
	var rotated []string
	eventually(t, 60*time.Second, "a rotated log file", func() bool {
		rotated, _ = filepath.Glob(filepath.Join(s.dataDir, "agent", "logs", "default_loud_*", "c", "0.log.*"))
		return len(rotated) > 0
	})
	st, err := os.Stat(rotated[0])
	if err != nil || st.Size() < 10<<20 {
		t.Fatalf("rotated file %s: %v %v", rotated[0], err, st)
	}
	eventually(t, 20*time.Second, "logs from the reopened file", func() bool {
		out, _ := s.kubectl("logs", "loud", "--tail=2")
		return strings.Contains(out, "tick")
	})
}
