package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/internal/runtime"
)

// The node's networks. They are not skiff's defaults (10.42/16, 10.43/16,
// bridge skiff0) so that a bench run and an e2e test on the same machine
// never share, or tear down, each other's bridge and routes.
const (
	clusterCIDR = "10.142.0.0/16"
	serviceCIDR = "10.143.0.0/16"
	clusterDNS  = "10.143.0.10"
)

// cpuacctRoot is the cgroup v1 cpuacct hierarchy. The server is started
// in a cgroup of its own there, so the CPU of everything it starts
// (containerd, shims, runc, CNI plugins) is counted even after they exit.
const cpuacctRoot = "/sys/fs/cgroup/cpuacct"

// node is one `skiff server` with its node agent and containerd, on a
// fresh data dir.
type node struct {
	id      string // random, in every name below
	name    string // node name
	dir     string // --data-dir, short enough for containerd's sockets
	cgroup  string // --cgroup-parent, where the pods' cgroups go
	procCg  string // cpuacct cgroup dir of the server and its children ("" if none)
	bridge  string // --cni-bridge
	cmd     *exec.Cmd
	log     *benchutil.SyncBuffer
	done    chan struct{}
	client  *kubernetes.Clientset
	rt      *runtime.Runtime // CRI to the node's containerd, once used
	cleaned bool
	// natBefore is the NAT table before the node started.
	natBefore map[string]bool
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startNode starts a server with its node agent on a fresh data dir with
// the test images in DIR/images, and waits until the node is Ready. On
// error everything is cleaned up.
func startNode(ctx context.Context, b *bench) (*node, error) {
	id := randHex(4)
	n := &node{id: id, name: "bench-" + id, cgroup: "/skiff-bench-" + id, bridge: "skb-" + id,
		log: &benchutil.SyncBuffer{}, done: make(chan struct{})}
	// Short, for containerd's socket paths, and of fixed length, so no
	// other bench's dir has it as a prefix (Purge kills by command line).
	n.dir = "/tmp/skiff-bench-" + id
	if err := os.Mkdir(n.dir, 0o700); err != nil {
		return nil, err
	}
	n.natBefore = map[string]bool{}
	for _, rule := range natRules() {
		n.natBefore[rule] = true
	}
	if err := n.start(b); err != nil {
		return nil, errors.Join(err, n.cleanup())
	}
	if err := n.waitReady(ctx); err != nil {
		benchutil.Logf("server output:\n%s", benchutil.Tail(n.log.String(), 30))
		return nil, errors.Join(err, n.cleanup())
	}
	return n, nil
}

// start links the images in and spawns the server.
func (n *node) start(b *bench) error {
	imgDir := filepath.Join(n.dir, "images")
	if err := os.Mkdir(imgDir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"busybox.tar", "testserver.tar"} {
		if err := os.Link(filepath.Join(b.images, f), filepath.Join(imgDir, f)); err != nil {
			return err
		}
	}
	port, err := benchutil.FreePort()
	if err != nil {
		return err
	}
	args := []string{"server", "--data-dir", n.dir, "--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1",
		"--agent-port", "0", "--node-name", n.name, "--cgroup-parent", n.cgroup, "--cni-bridge", n.bridge,
		"--proxy-table", n.bridge, "--cluster-dns-upstream", "127.0.0.1:9", "--cluster-cidr", clusterCIDR, "--service-cidr", serviceCIDR, "--cluster-dns", clusterDNS}
	if b.debug {
		args = append(args, "--log-level", "debug")
	}
	n.cmd = exec.Command(b.skiff, args...)
	if _, err := os.Stat(filepath.Join(cpuacctRoot, "cpuacct.usage")); err == nil {
		n.procCg = filepath.Join(cpuacctRoot, "skiff-bench-"+n.id+"-node")
		if err := os.Mkdir(n.procCg, 0o755); err != nil {
			return err
		}
		// The shell joins the cgroup, then becomes the server: nothing
		// the server starts can escape the count.
		n.cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, n.procCg, b.skiff}, args...)...)
	}
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	// Its own process group (containerd makes its own); Pdeathsig: the
	// server does not outlive a crashed bench.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", b.skiff, err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	return nil
}

// pid is the server's process id.
func (n *node) pid() int { return n.cmd.Process.Pid }

// exited reports whether the server has exited.
func (n *node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// waitReady waits (at most 2 minutes) for the kubeconfig, then for the
// Node to report Ready: the images are imported and the pod network is
// configured by then.
func (n *node) waitReady(ctx context.Context) error {
	return poll(ctx, 2*time.Minute, 100*time.Millisecond, "node "+n.name+" Ready", func() (bool, error) {
		if n.exited() {
			return false, fmt.Errorf("skiff server exited: %v", n.cmd.ProcessState)
		}
		if n.client == nil {
			cfg, err := benchutil.RestConfig(filepath.Join(n.dir, "kubeconfig.yaml"))
			if err != nil {
				return false, nil // not written yet
			}
			if n.client, err = kubernetes.NewForConfig(cfg); err != nil {
				return false, err
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		nd, err := n.client.CoreV1().Nodes().Get(cctx, n.name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range nd.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// poll calls check every interval until it reports done or fails, ctx
// ends or timeout passes.
func poll(ctx context.Context, timeout, interval time.Duration, what string, check func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := check()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// sleep waits d unless ctx ends or the server exits first.
func (n *node) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return fmt.Errorf("skiff server exited: %v\n%s", n.cmd.ProcessState, benchutil.Tail(n.log.String(), 20))
	}
}

// containerdLog is containerd's own log under the data dir.
func (n *node) containerdLog() string {
	return filepath.Join(n.dir, "agent", "containerd", "containerd.log")
}

// socket is containerd's CRI socket.
func (n *node) socket() string {
	return filepath.Join(n.dir, "agent", "containerd", "containerd.sock")
}

// waitTornDown waits until containerd has no pod sandbox left and no
// shim of the node runs: the agent has finished with deleted pods.
func (n *node) waitTornDown(ctx context.Context) error {
	return poll(ctx, podTimeout, 10*time.Millisecond, "pod sandboxes removed", func() (bool, error) {
		if n.rt == nil {
			rt, err := runtime.Dial(ctx, "unix://"+n.socket())
			if err != nil {
				return false, err
			}
			n.rt = rt
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		l, err := n.rt.Runtime.ListPodSandbox(cctx, &criv1.ListPodSandboxRequest{})
		if err != nil || len(l.Items) > 0 {
			return false, nil
		}
		return len(n.shimPIDs()) == 0, nil
	})
}
