// Package cluster starts a skiff cluster of several nodes on one machine
// for end-to-end tests: `skiff server` in the host's network namespace
// and N `skiff agent`s, each in its own network namespace with a veth to a
// host bridge, its own containerd, data dir and cgroup parent. Everything
// it starts is torn down by the test's cleanup: processes by process
// group, pods through CRI, mounts, namespaces, links, cgroups.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config describes a cluster.
type Config struct {
	// Skiff is the skiff binary.
	Skiff string
	// Nodes is the number of agents in network namespaces.
	Nodes int
	// ServerAgent runs the server's own node agent (a node in the host's
	// namespace, with the service proxy there, so the host reaches
	// cluster IPs); otherwise the server runs --disable-agent.
	ServerAgent bool
	// Images are tarballs every node imports at start.
	Images []string
	// ServerArgs and AgentArgs are extra flags.
	ServerArgs, AgentArgs []string
}

// Cluster is a running cluster.
type Cluster struct {
	t      testing.TB
	cfg    Config
	id     string
	dir    string
	Bridge string
	// HostIP is the host's address on the node network (the server's).
	HostIP     string
	Kubeconfig string
	ServerURL  string
	// ServerNode names the server's own node ("" without ServerAgent).
	ServerNode string
	Nodes      []*Node
	server     *process
	subnet     string
}

// Node is one agent in its network namespace.
type Node struct {
	Name    string
	IP      string
	Netns   string
	DataDir string
	Cgroup  string
	proc    *process
}

// Start starts the cluster and waits until every node is Ready. The
// test's cleanup tears it down.
func Start(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	for _, bin := range []string{"containerd", "runc", "/usr/lib/cni/bridge", "ip", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("cluster tests need %s (make deps installs it): %v", bin, err)
		}
	}
	id := randHex(3)
	c := &Cluster{t: t, cfg: cfg, id: id, Bridge: "skc" + id, dir: shortTempDir(t)}
	// 10.250.X.0/24 with X from the id, so leftovers of another run do
	// not collide.
	b, _ := hex.DecodeString(id)
	c.subnet = fmt.Sprintf("10.250.%d", b[0])
	c.HostIP = c.subnet + ".1"
	t.Cleanup(c.teardown)
	c.must("ip", "link", "add", c.Bridge, "type", "bridge")
	c.must("ip", "addr", "add", c.HostIP+"/24", "dev", c.Bridge)
	c.must("ip", "link", "set", c.Bridge, "up")
	c.startServer()
	for i := range cfg.Nodes {
		c.addNode(i)
	}
	c.WaitNodesReady(2 * time.Minute)
	return c
}

func (c *Cluster) must(args ...string) {
	c.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (c *Cluster) startServer() {
	dir := filepath.Join(c.dir, "server")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	args := []string{"server", "--data-dir", dir, "--secure-port", "0", "--advertise-address", c.HostIP,
		"--tls-san", c.HostIP, "--node-ip", c.HostIP}
	if c.cfg.ServerAgent {
		c.ServerNode = "skc-" + c.id + "-server"
		linkImages(c.t, c.cfg.Images, filepath.Join(dir, "images"))
		cg := "/skc-" + c.id + "/server"
		args = append(args, "--node-name", c.ServerNode, "--agent-port", "0", "--cgroup-parent", cg)
	} else {
		args = append(args, "--disable-agent")
	}
	args = append(args, c.cfg.ServerArgs...)
	c.server = startProcess(c.t, filepath.Join(dir, "server.log"), nil, c.cfg.Skiff, args...)
	c.Kubeconfig = filepath.Join(dir, "kubeconfig.yaml")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if cfg, err := c.RESTConfig(); err == nil && ready(cfg) {
			c.ServerURL = strings.Replace(cfg.Host, "127.0.0.1", c.HostIP, 1)
			return
		}
		if time.Now().After(deadline) || c.server.exited() {
			c.t.Fatalf("server not ready; log:\n%s", tail(filepath.Join(dir, "server.log")))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addNode makes node i: a namespace, a veth to the bridge, an agent.
func (c *Cluster) addNode(i int) *Node {
	n := &Node{
		Name: fmt.Sprintf("skc-%s-n%d", c.id, i), IP: fmt.Sprintf("%s.%d", c.subnet, i+2),
		Netns: fmt.Sprintf("skc%s-n%d", c.id, i), DataDir: filepath.Join(c.dir, fmt.Sprintf("n%d", i)),
		Cgroup: fmt.Sprintf("/skc-%s/n%d", c.id, i),
	}
	host, peer := fmt.Sprintf("skc%sh%d", c.id, i), fmt.Sprintf("skc%sp%d", c.id, i)
	c.must("ip", "netns", "add", n.Netns)
	c.must("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
	c.must("ip", "link", "set", host, "master", c.Bridge, "up")
	c.must("ip", "link", "set", peer, "netns", n.Netns)
	c.must("ip", "-n", n.Netns, "link", "set", peer, "name", "eth0")
	c.must("ip", "-n", n.Netns, "addr", "add", n.IP+"/24", "dev", "eth0")
	c.must("ip", "-n", n.Netns, "link", "set", "eth0", "up")
	c.must("ip", "-n", n.Netns, "link", "set", "lo", "up")
	c.must("ip", "-n", n.Netns, "route", "add", "default", "via", c.HostIP)
	linkImages(c.t, c.cfg.Images, filepath.Join(n.DataDir, "images"))
	c.Nodes = append(c.Nodes, n)
	c.startAgent(n)
	return n
}

func (c *Cluster) startAgent(n *Node) {
	token := filepath.Join(c.dir, "server", "token")
	args := []string{"--net=/run/netns/" + n.Netns, "--", c.cfg.Skiff, "agent", "--server", c.ServerURL, "--token-file", token,
		"--data-dir", n.DataDir, "--node-name", n.Name, "--node-ip", n.IP, "--cgroup-parent", n.Cgroup}
	args = append(args, c.cfg.AgentArgs...)
	n.proc = startProcess(c.t, filepath.Join(n.DataDir, "agent.log"), nil, "nsenter", args...)
}

// AddNode adds one more agent node and waits for it to be Ready.
func (c *Cluster) AddNode() *Node {
	c.t.Helper()
	n := c.addNode(len(c.Nodes))
	c.WaitNodesReady(2 * time.Minute)
	return n
}

// StopAgent kills a node's agent (its containerd and pods live on), as
// when a node is cut off.
func (c *Cluster) StopAgent(n *Node) { n.proc.kill() }

// RESTConfig is the admin configuration, for client-go.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
}

// Client is an admin client.
func (c *Cluster) Client() kubernetes.Interface {
	cfg, err := c.RESTConfig()
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	return kubernetes.NewForConfigOrDie(cfg)
}

// Kubectl runs kubectl against the cluster.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// InNode runs a command in a node's network namespace.
func (c *Cluster) InNode(n *Node, args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + n.Netns, "--"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// AgentLog returns the end of a node's agent log.
func (n *Node) AgentLog() string { return tail(filepath.Join(n.DataDir, "agent.log")) }

// ServerLog returns the end of the server's log.
func (c *Cluster) ServerLog() string { return tail(filepath.Join(c.dir, "server", "server.log")) }

// WaitNodesReady waits until every node (the server's too) is Ready.
func (c *Cluster) WaitNodesReady(timeout time.Duration) {
	c.t.Helper()
	client := c.Client()
	want := map[string]bool{}
	for _, n := range c.Nodes {
		want[n.Name] = true
	}
	if c.ServerNode != "" {
		want[c.ServerNode] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		nodes, err := client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, n := range nodes.Items {
				if want[n.Name] && nodeReady(&n) && n.Spec.PodCIDR != "" {
					ready++
				}
			}
		}
		if ready == len(want) {
			return
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, n := range c.Nodes {
				fmt.Fprintf(&logs, "--- %s:\n%s\n", n.Name, n.AgentLog())
			}
			c.t.Fatalf("%d of %d nodes Ready after %s (%v)\n%s--- server:\n%s", ready, len(want), timeout, err, logs.String(), c.ServerLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// teardown stops the agents and purges their nodes, then the server,
// then removes namespaces, the bridge and the data.
func (c *Cluster) teardown() {
	for _, n := range c.Nodes {
		if n.proc != nil {
			n.proc.kill()
		}
		PurgeNode(c.t.Logf, n.DataDir, n.Cgroup)
		_ = exec.Command("ip", "netns", "del", n.Netns).Run()
	}
	if c.server != nil {
		c.server.kill()
	}
	if c.cfg.ServerAgent {
		PurgeNode(c.t.Logf, filepath.Join(c.dir, "server"), "/skc-"+c.id+"/server")
		PurgeHostNetwork("skiff0", "skiff")
	}
	_ = exec.Command("ip", "link", "del", c.Bridge).Run()
	RemoveCgroup("/skc-" + c.id)
}

// process is a skiff process in its own process group.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(t testing.TB, logPath string, env []string, name string, args ...string) *process {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill kills the process group at once. containerd runs in a group of
// its own and lives on, so PurgeNode can remove the pods through it.
func (p *process) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func ready(cfg *rest.Config) bool {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 2 * time.Second
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return false
	}
	resp, err := hc.Get(cfg.Host + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func linkImages(t testing.TB, tars []string, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range tars {
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.Link(f, dst); err != nil {
			t.Fatal(err)
		}
	}
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	const max = 6000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// shortTempDir is a temporary directory with a short path (containerd's
// socket paths must stay under 108 bytes), removed by the cleanup.
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("/tmp", "skc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
