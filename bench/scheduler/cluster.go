package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	server *process
	sched  *process
	sim    *process
	cfg    *rest.Config
	client kubernetes.Interface
}

// process is one child process with its log.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *benchutil.SyncBuffer
	done chan struct{}
}

func spawn(name, bin string, args ...string) (*process, error) {
	p := &process{name: name, log: &benchutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, and SIGKILL to the group after 10 s.
func (p *process) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
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
	c.server, err = spawn("server", b.skiff, "server", "--disable-agent", "--disable-scheduler", "--data-dir", data,
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(data, "kubeconfig.yaml")
	if err := waitFor(ctx, 60*time.Second, c.server, "server ready", func() bool {
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
	c.sched, err = spawn("scheduler", b.skiff, schedArgs...)
	if err != nil {
		return nil, err
	}
	args := []string{"agent", "--simulate", strconv.Itoa(nodes), "--server", "https://127.0.0.1:" + strconv.Itoa(port),
		"--token-file", filepath.Join(data, "token"), "--data-dir", filepath.Join(dir, "sim")}
	if zones > 0 {
		args = append(args, "--simulate-zones", strconv.Itoa(zones))
	}
	c.sim, err = spawn("simulated nodes", b.skiff, args...)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := waitFor(ctx, 5*time.Minute, c.sim, fmt.Sprintf("%d nodes Ready", nodes), func() bool {
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

// waitFor polls cond every 200 ms; it fails early if p exits.
func waitFor(ctx context.Context, timeout time.Duration, p *process, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.exited() {
			return fmt.Errorf("%s exited while waiting for %s:\n%s", p.name, what, benchutil.Tail(p.log.String(), 30))
		}
		if cond() {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: not done in %v; %s log:\n%s", what, timeout, p.name, benchutil.Tail(p.log.String(), 30))
}

// stop stops the processes (nodes first) and removes the data dirs.
func (c *cluster) stop() {
	c.sim.stop()
	c.sched.stop()
	c.server.stop()
	if c.dir != "" && strings.HasPrefix(c.dir, os.TempDir()) {
		os.RemoveAll(c.dir)
	}
}
