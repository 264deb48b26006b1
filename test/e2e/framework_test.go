// Package e2e drives the real skiff binary with the real kubectl and
// client-go. Every test starts its own server on a free port and a fresh
// data directory, and stops it when done.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// skiffBin is the binary under test: $SKIFF_BIN, or built once by TestMain.
var skiffBin string

// kubectlBin is the kubectl users have: /usr/bin/kubectl (1.32).
var kubectlBin = "/usr/bin/kubectl"

func TestMain(m *testing.M) {
	skiffBin = os.Getenv("SKIFF_BIN")
	if skiffBin == "" {
		dir, err := os.MkdirTemp("", "skiff-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		skiffBin = filepath.Join(dir, "skiff")
		cmd := exec.Command("go", "build", "-trimpath", "-o", skiffBin, "../../cmd/skiff")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build skiff:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	if v := os.Getenv("KUBECTL"); v != "" {
		kubectlBin = v
	}
	if _, err := os.Stat(kubectlBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests need kubectl at", kubectlBin)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// server is one running `skiff server`.
type server struct {
	t          *testing.T
	dataDir    string
	kubeconfig string
	args       []string
	// port stays the same across restarts, so clients reconnect.
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	// started says the first start succeeded (restarts keep the port);
	// portRetries counts first starts that lost their port.
	started     bool
	portRetries int
}

// startServer starts skiff server on a fresh data directory, without a
// node agent (the API tests need no node).
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startServerIn(t, t.TempDir(), append([]string{"--disable-agent"}, extraArgs...)...)
}

func startServerIn(t *testing.T, dataDir string, extraArgs ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, args: extraArgs, port: freePort(t)}
	s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig.yaml")
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	_ = os.Remove(s.kubeconfig)
	args := append([]string{"server", "--data-dir", s.dataDir, "--secure-port", strconv.Itoa(s.port), "--bind-address", "127.0.0.1"}, s.args...)
	s.cmd = exec.Command(skiffBin, args...)
	s.log = &bytes.Buffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start skiff: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	// freePort's port can be taken before the server binds it (another
	// process's ephemeral port): on a first start, take another one.
	if !s.started && s.exitedWith("address already in use", 10*time.Second) && s.portRetries < 3 {
		s.portRetries++
		s.port = freePort(s.t)
		s.start()
		return
	}
	s.started = true
	s.waitReady(60 * time.Second)
}

// exitedWith says whether the server exits within d with want in its log.
func (s *server) exitedWith(want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return strings.Contains(s.log.String(), want)
		default:
		}
		if cfg, err := s.restConfig(); err == nil && readyz(cfg.Host) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// waitReady waits for the kubeconfig and /readyz.
func (s *server) waitReady(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("skiff server exited:\n%s", s.log.String())
		default:
		}
		if cfg, err := s.restConfig(); err == nil {
			if ok := readyz(cfg.Host); ok {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("skiff server not ready in %v:\n%s", timeout, s.log.String())
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func readyz(host string) bool {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(host + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the server with SIGTERM (SIGKILL after 10 s).
func (s *server) stop() {
	s.signal(syscall.SIGTERM, 10*time.Second)
}

// kill ends the server with SIGKILL at once.
func (s *server) kill() {
	s.signal(syscall.SIGKILL, 10*time.Second)
}

func (s *server) signal(sig syscall.Signal, wait time.Duration) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	select {
	case <-s.done:
	case <-time.After(wait):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// restart stops the server and starts it again on the same data dir.
func (s *server) restart() {
	s.stop()
	s.start()
}

func (s *server) restConfig() (*rest.Config, error) {
	if _, err := os.Stat(s.kubeconfig); err != nil {
		return nil, err
	}
	return clientcmd.BuildConfigFromFlags("", s.kubeconfig)
}

func (s *server) client() kubernetes.Interface {
	s.t.Helper()
	cfg, err := s.restConfig()
	if err != nil {
		s.t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// kubectl runs kubectl against the server and returns its output.
func (s *server) kubectl(args ...string) (string, error) {
	return s.kubectlIn("", args...)
}

func (s *server) kubectlIn(stdin string, args ...string) (string, error) {
	return s.kubectlEnv(stdin, nil, args...)
}

func (s *server) kubectlEnv(stdin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+s.kubeconfig), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustKubectl runs kubectl and fails the test if it fails.
func (s *server) mustKubectl(args ...string) string {
	s.t.Helper()
	out, err := s.kubectl(args...)
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// mustKubectlIn runs kubectl with stdin and fails the test if it fails.
func (s *server) mustKubectlIn(stdin string, args ...string) string {
	s.t.Helper()
	out, err := s.kubectlIn(stdin, args...)
	if err != nil {
		s.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

// mustRestHost returns the API server's URL.
func (s *server) mustRestHost() string {
	s.t.Helper()
	cfg, err := s.restConfig()
	if err != nil {
		s.t.Fatal(err)
	}
	return cfg.Host
}
