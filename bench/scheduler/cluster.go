package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// cluster is `skiff server` without agent or scheduler, `skiff scheduler`
// as its own process (so its memory and CPU can be read apart), and
// `skiff agent --simulate N` for the nodes, all on fresh data dirs on
// 127.0.0.1.
type cluster struct {
	dir    string
	server *benchutil.Process
	sched  *benchutil.Process
	sim    *benchutil.Process
	cfg    *rest.Config
	client kubernetes.Interface
}

// startCluster starts the three processes and waits for nodes Ready nodes.
func startCluster(ctx context.Context, b *bench, nodes, zones int) (*cluster, error) {
	dir, err := os.MkdirTemp("", "skiff-bench-sched-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()
	port, err := benchutil.FreePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "server")
	c.server, err = benchutil.Spawn("server", b.skiff, "server", "--disable-agent", "--disable-scheduler", "--data-dir", data,
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(data, "kubeconfig.yaml")
	if err := benchutil.WaitFor(ctx, 60*time.Second, c.server, "server ready", func() bool {
		cfg, err := benchutil.RestConfig(kubeconfig)
		if err != nil {
			return false
		}
		cl, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return false
		}
		_, err = cl.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		return nil, err
	}
	c.cfg, _ = benchutil.RestConfig(kubeconfig)
	// Protobuf, as the controllers that create pods in a real cluster.
	c.cfg.ContentType = "application/vnd.kubernetes.protobuf"
	c.cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.client = kubernetes.NewForConfigOrDie(c.cfg)
	schedArgs := []string{"scheduler", "--kubeconfig", kubeconfig}
	if b.debug != "" {
		schedArgs = append(schedArgs, "--debug-address", b.debug)
	}
	c.sched, err = benchutil.Spawn("scheduler", b.skiff, schedArgs...)
	if err != nil {
		return nil, err
	}
	args := []string{"agent", "--simulate", strconv.Itoa(nodes), "--server", "https://127.0.0.1:" + strconv.Itoa(port),
		"--token-file", filepath.Join(data, "token"), "--data-dir", filepath.Join(dir, "sim")}
	if zones > 0 {
		args = append(args, "--simulate-zones", strconv.Itoa(zones))
	}
	c.sim, err = benchutil.Spawn("simulated nodes", b.skiff, args...)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := benchutil.WaitFor(ctx, 5*time.Minute, c.sim, fmt.Sprintf("%d nodes Ready", nodes), func() bool {
		return readyNodes(ctx, c.client) >= nodes
	}); err != nil {
		return nil, err
	}
	benchutil.Logf("  %d simulated nodes Ready after %v", nodes, time.Since(start).Round(100*time.Millisecond))
	ok = true
	return c, nil
}

func readyNodes(ctx context.Context, c kubernetes.Interface) int {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0
	}
	n := 0
	for _, node := range list.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && len(node.Spec.Taints) == 0 {
				n++
			}
		}
	}
	return n
}

// stop stops the processes (nodes first) and removes the data dirs.
func (c *cluster) stop() {
	c.sim.Stop()
	c.sched.Stop()
	c.server.Stop()
	if c.dir != "" && strings.HasPrefix(c.dir, os.TempDir()) {
		os.RemoveAll(c.dir)
	}
}
