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

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// cluster is the control plane as three processes plus simulators.
type cluster struct {
	b          *bench
	dir        string
	url        string
	kubeconfig string
	server     *benchutil.Process
	sched      *benchutil.Process
	cm         *benchutil.Process
	sims       []*benchutil.Process
	client     kubernetes.Interface
}

func startCluster(ctx context.Context, b *bench) (*cluster, error) {
	dir, err := os.MkdirTemp("", "skiff-bench-ctrl-")
	if err != nil {
		return nil, err
	}
	c := &cluster{b: b, dir: dir}
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
	c.url = "https://127.0.0.1:" + strconv.Itoa(port)
	c.server, err = benchutil.Spawn("server", b.skiff, "server", "--disable-agent", "--disable-scheduler", "--disable-controllers",
		"--data-dir", data, "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	c.kubeconfig = filepath.Join(data, "kubeconfig.yaml")
	if err := benchutil.WaitFor(ctx, 60*time.Second, c.server, "server ready", func() bool {
		cfg, err := benchutil.RestConfig(c.kubeconfig)
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
	cfg, _ := benchutil.RestConfig(c.kubeconfig)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	c.client = kubernetes.NewForConfigOrDie(cfg)
	if c.sched, err = benchutil.Spawn("scheduler", b.skiff, "scheduler", "--kubeconfig", c.kubeconfig); err != nil {
		return nil, err
	}
	if c.cm, err = benchutil.Spawn("controller-manager", b.skiff, "controller-manager", "--kubeconfig", c.kubeconfig); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// addNodes starts a simulator of n nodes named prefix-i and waits for
// them to be Ready and untainted.
func (c *cluster) addNodes(ctx context.Context, prefix string, n int) (*benchutil.Process, error) {
	p, err := benchutil.Spawn("simulator "+prefix, c.b.skiff, "agent", "--simulate", strconv.Itoa(n), "--simulate-prefix", prefix,
		"--server", c.url, "--token-file", filepath.Join(c.dir, "server", "token"), "--data-dir", filepath.Join(c.dir, "sim-"+prefix))
	if err != nil {
		return nil, err
	}
	c.sims = append(c.sims, p)
	err = benchutil.WaitFor(ctx, 2*time.Minute, p, fmt.Sprintf("%d %s nodes Ready", n, prefix), func() bool {
		list, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false
		}
		ready := 0
		for _, node := range list.Items {
			if !strings.HasPrefix(node.Name, prefix+"-") || len(node.Spec.Taints) > 0 {
				continue
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == n
	})
	return p, err
}

func (c *cluster) stop() {
	for _, s := range c.sims {
		s.Stop()
	}
	c.cm.Stop()
	c.sched.Stop()
	c.server.Stop()
	if c.dir != "" && strings.HasPrefix(c.dir, os.TempDir()) {
		os.RemoveAll(c.dir)
	}
}
