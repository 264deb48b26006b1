package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/test/cluster"
)

// startCluster starts a server and n agent nodes in network namespaces,
// with the test images on every node.
func startCluster(t *testing.T, n int, serverAgent bool, serverArgs ...string) *cluster.Cluster {
	t.Helper()
	imgs := testImages(t)
	return cluster.Start(t, cluster.Config{
		Skiff: skiffBin, Nodes: n, ServerAgent: serverAgent, ServerArgs: serverArgs,
		Images: []string{filepath.Join(imgs, "busybox.tar"), filepath.Join(imgs, "testserver.tar")},
	})
}

// netPod is a testserver pod pinned to a node.
func netPod(name, node string, labels map[string]string, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "c", Image: "skiff.local/testserver:1", Args: args,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
}

// runningPod creates pod and waits until it runs with an IP.
func runningPod(t *testing.T, c kubernetes.Interface, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	deadline := time.Now().Add(90 * time.Second)
	for {
		p, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			got = p
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s not running with an IP: %+v %v", pod.Name, p.Status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return got
}

// runClient runs a one-shot testserver pod (restartPolicy Never) on node
// ("" lets the scheduler choose) with args, waits for it to finish and
// returns its log. kubectl exec is not served yet, so clients are pods.
func runClient(t *testing.T, c kubernetes.Interface, ns, name, node string, args ...string) string {
	t.Helper()
	ctx := context.Background()
	pod := netPod(name, node, nil, args...)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.Containers[0].Ports = nil
	if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client pod %s did not finish: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err := c.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of %s: %v", name, err)
	}
	_ = c.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{})
	return string(out)
}

type getReport struct {
	OK     int            `json:"ok"`
	Failed int            `json:"failed"`
	Hosts  map[string]int `json:"hosts"`
	Errors []string       `json:"errors"`
}

// getFrom runs `testserver get` in a client pod and decodes its report.
func getFrom(t *testing.T, c kubernetes.Interface, ns, name, node string, count int, url string) getReport {
	t.Helper()
	out := runClient(t, c, ns, name, node, "get", "--count", fmt.Sprint(count), url)
	var rep getReport
	if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
		t.Fatalf("get report %q: %v", out, err)
	}
	return rep
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestPodNetworkAcrossNodes: a pod on each of two nodes reaches the other
// by pod IP, both ways, and sees the other's own address (no masquerade
// between pods).
func TestPodNetworkAcrossNodes(t *testing.T) {
	cl := startCluster(t, 2, false, "--cluster-dns-upstream", "127.0.0.1:9")
	c := cl.Client()
	a := runningPod(t, c, "default", netPod("a", cl.Nodes[0].Name, nil))
	b := runningPod(t, c, "default", netPod("b", cl.Nodes[1].Name, nil))
	if a.Status.PodIP == b.Status.PodIP {
		t.Fatalf("both pods have %s", a.Status.PodIP)
	}
	for i, tc := range []struct {
		node string
		to   *corev1.Pod
	}{{cl.Nodes[0].Name, b}, {cl.Nodes[1].Name, a}} {
		rep := getFrom(t, c, "default", fmt.Sprintf("client%d", i), tc.node, 3, "http://"+tc.to.Status.PodIP+":8080/")
		if rep.OK != 3 || rep.Hosts[tc.to.Name] != 3 {
			t.Errorf("from %s to %s (%s): %+v\n%s", tc.node, tc.to.Name, tc.to.Status.PodIP, rep, networkState(cl))
		}
	}
	out := runClient(t, c, "default", "peer", cl.Nodes[0].Name, "get", "--echo", "http://"+b.Status.PodIP+":8080/")
	if !strings.Contains(out, `"remoteAddr":"`+a.Status.PodIP[:strings.LastIndex(a.Status.PodIP, ".")+1]) {
		t.Errorf("b saw the request from outside node 0's pod network: %s", out)
	}
	// The cluster DNS runs in the server, which has no agent and so no
	// routes to the pods: the proxy masquerades what leaves the pod
	// network, so the answers still come back.
	out = runClient(t, c, "default", "lookup", cl.Nodes[1].Name, "lookup", "kubernetes.default")
	if strings.TrimSpace(out) != "10.43.0.1" {
		t.Errorf("kubernetes.default from a pod: %q", out)
	}
}

// networkState describes the nodes' routes and NAT rules, for failures.
func networkState(cl *cluster.Cluster) string {
	var b strings.Builder
	for _, n := range cl.Nodes {
		routes, _ := cl.InNode(n, "ip", "route")
		links, _ := cl.InNode(n, "ip", "-br", "addr")
		fmt.Fprintf(&b, "--- %s (%s)\n%s%s", n.Name, n.IP, routes, links)
		for _, l := range strings.Split(n.AgentLog(), "\n") {
			if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") || strings.Contains(l, "route") {
				fmt.Fprintln(&b, l)
			}
		}
	}
	return b.String()
}
