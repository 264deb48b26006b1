package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/pause"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/images"
)

func TestRunContainer(t *testing.T) {
	env := runtimetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rt := env.Runtime
	v, err := rt.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runtime %s %s, CRI %s", v.RuntimeName, v.RuntimeVersion, v.RuntimeApiVersion)

	env.EnsurePause(t)
	env.EnsurePause(t) // already there: no second import
	st, err := rt.Images.ImageStatus(ctx, &criv1.ImageStatusRequest{Image: &criv1.ImageSpec{Image: pause.Ref}})
	if err != nil || st.Image == nil {
		t.Fatalf("pause image status: %v %v", st, err)
	}
	env.ImportTestImages(t)
	imgs, err := runtime.ListImages(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{pause.Ref, images.Busybox, images.TestServer} {
		if !hasImage(imgs, want) {
			t.Errorf("image %s not listed: %v", want, imgs)
		}
	}

	pod := newPod(t, env, "hello")
	id := pod.run(ctx, t, "hello", images.Busybox, []string{"/bin/sh", "-c", "echo hello; sleep 0.1"})
	cs := waitExited(ctx, t, rt, id)
	if cs.ExitCode != 0 {
		t.Fatalf("exit code %d (%s %s)", cs.ExitCode, cs.Reason, cs.Message)
	}
	logs, err := os.ReadFile(cs.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), " stdout F hello\n") {
		t.Fatalf("log %s: %q", cs.LogPath, logs)
	}
	pod.remove(ctx, t)
}

func TestTestServerContainer(t *testing.T) {
	env := runtimetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env.EnsurePause(t)
	env.ImportTestImages(t)
	port := freePort(t)
	pod := newPod(t, env, "server")
	id := pod.run(ctx, t, "server", images.TestServer, []string{"/testserver", "serve", "--port", fmt.Sprint(port)})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	body := waitHTTP(ctx, t, url+"/healthz", http.StatusOK)
	if body != "ok\n" {
		t.Fatalf("healthz: %q", body)
	}
	httpGet(t, url+"/fail")
	waitHTTP(ctx, t, url+"/healthz", http.StatusInternalServerError)
	httpGet(t, url+"/recover")
	waitHTTP(ctx, t, url+"/healthz", http.StatusOK)
	if body := waitHTTP(ctx, t, url+"/file?path=/etc/passwd", http.StatusOK); !strings.Contains(body, "nobody") {
		t.Fatalf("/etc/passwd: %q", body)
	}
	httpGet(t, url+"/exit?code=3")
	if cs := waitExited(ctx, t, env.Runtime, id); cs.ExitCode != 3 {
		t.Fatalf("exit code %d, want 3", cs.ExitCode)
	}
	pod.remove(ctx, t)
}

func TestSupervisorRestartsContainerd(t *testing.T) {
	env := runtimetest.Start(t)
	old := env.Containerd.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if pid := env.Containerd.PID(); pid != 0 && pid != old {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("containerd was not restarted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := env.Containerd.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	waitVersion(ctx, t, env.Runtime)
	if got := env.Containerd.PID(); got == old {
		t.Fatalf("pid %d not replaced", got)
	}
}

func TestSupervisorAdoptsContainerd(t *testing.T) {
	env := runtimetest.Start(t, func(c *runtime.ContainerdConfig) { c.KeepRunning = true })
	pid := env.Containerd.PID()
	env.StopContainerd()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("containerd %d did not keep running: %v", pid, err)
	}
	env.StartContainerd(t, func(c *runtime.ContainerdConfig) { c.KeepRunning = false })
	if got := env.Containerd.PID(); got != pid {
		t.Fatalf("supervisor runs pid %d, want the adopted %d", got, pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitVersion(ctx, t, env.Runtime)
	env.StopContainerd()
	deadline := time.Now().Add(15 * time.Second)
	for processRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("adopted containerd %d was not stopped", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(env.Config.Dir, "containerd.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left after stop: %v", err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	c := runtime.NewContainerd(runtime.ContainerdConfig{Dir: dir, InsecureRegistries: []string{"127.0.0.1:5000"}, Binary: "/nonexistent/containerd"})
	if err := c.Start(context.Background()); err == nil {
		t.Fatal("Start with a missing binary did not fail")
	}
	if c.Endpoint() != "unix://"+filepath.Join(dir, "containerd.sock") {
		t.Errorf("endpoint %s", c.Endpoint())
	}
	for _, p := range []string{"", "tcp://x"} {
		if _, err := runtime.Dial(context.Background(), p); err == nil {
			t.Errorf("Dial(%q) did not fail", p)
		}
	}
}

// pod is a sandbox with host networking.
type pod struct {
	rt     *runtime.Runtime
	id     string
	config *criv1.PodSandboxConfig
}

func newPod(t *testing.T, env *runtimetest.Env, name string) *pod {
	t.Helper()
	cfg := &criv1.PodSandboxConfig{
		Metadata:     &criv1.PodSandboxMetadata{Name: name, Namespace: "default", Uid: "uid-" + name},
		LogDirectory: filepath.Join(env.Dir, "logs", name),
		Labels:       map[string]string{"io.kubernetes.pod.name": name},
		Linux: &criv1.LinuxPodSandboxConfig{SecurityContext: &criv1.LinuxSandboxSecurityContext{
			NamespaceOptions: &criv1.NamespaceOption{Network: criv1.NamespaceMode_NODE},
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := env.Runtime.Runtime.RunPodSandbox(ctx, &criv1.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	return &pod{rt: env.Runtime, id: resp.PodSandboxId, config: cfg}
}

func (p *pod) run(ctx context.Context, t *testing.T, name, image string, command []string) string {
	t.Helper()
	resp, err := p.rt.Runtime.CreateContainer(ctx, &criv1.CreateContainerRequest{
		PodSandboxId:  p.id,
		SandboxConfig: p.config,
		Config: &criv1.ContainerConfig{
			Metadata: &criv1.ContainerMetadata{Name: name},
			Image:    &criv1.ImageSpec{Image: image},
			Command:  command,
			LogPath:  name + "/0.log",
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := p.rt.Runtime.StartContainer(ctx, &criv1.StartContainerRequest{ContainerId: resp.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return resp.ContainerId
}

func (p *pod) remove(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := p.rt.Runtime.StopPodSandbox(ctx, &criv1.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.rt.Runtime.RemovePodSandbox(ctx, &criv1.RemovePodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatal(err)
	}
	list, err := p.rt.Runtime.ListPodSandbox(ctx, &criv1.ListPodSandboxRequest{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("sandboxes left: %v %v", list, err)
	}
}

func waitExited(ctx context.Context, t *testing.T, rt *runtime.Runtime, id string) *criv1.ContainerStatus {
	t.Helper()
	for {
		resp, err := rt.Runtime.ContainerStatus(ctx, &criv1.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status.State == criv1.ContainerState_CONTAINER_EXITED {
			return resp.Status
		}
		select {
		case <-ctx.Done():
			t.Fatalf("container %s did not exit: %v", id, resp.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitVersion(ctx context.Context, t *testing.T, rt *runtime.Runtime) {
	t.Helper()
	for {
		_, err := rt.Version(ctx)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("CRI does not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasImage(imgs []*criv1.Image, ref string) bool {
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			if tag == ref {
				return true
			}
		}
	}
	return false
}

func processRunning(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHTTP polls url until it answers with code and returns the body.
func waitHTTP(ctx context.Context, t *testing.T, url string, code int) string {
	t.Helper()
	var last string
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == code {
				return string(b)
			}
			last = fmt.Sprintf("%d %q", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: want %d, last: %s", url, code, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// helperDirEnv makes the test binary a supervisor process (see
// TestHelperSupervisor) for the containerd in that dir.
const helperDirEnv = "SKIFF_RUNTIME_TEST_SUPERVISOR_DIR"

// TestHelperSupervisor is not a test: run with helperDirEnv set, it
// supervises a containerd until it is killed.
func TestHelperSupervisor(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		return
	}
	c := runtime.NewContainerd(runtime.ContainerdConfig{Dir: dir})
	go func() {
		if err := c.WaitReady(context.Background()); err == nil {
			fmt.Printf("ready %d\n", c.PID())
		}
	}()
	_ = c.Start(context.Background())
}

// TestContainerdSurvivesKilledSupervisor kills a supervising process (and
// its process group) with SIGKILL: containerd must live on and the next
// supervisor adopt it.
func TestContainerdSurvivesKilledSupervisor(t *testing.T) {
	dir := filepath.Join(runtimetest.ShortTempDir(t), "containerd")
	t.Cleanup(func() { _ = runtimetest.Purge(dir) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSupervisor$")
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscanf(out, "ready %d\n", &pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("helper supervisor: %v", err)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond)
	if !processRunning(pid) {
		t.Fatalf("containerd %d died with its supervisor", pid)
	}
	c := runtime.NewContainerd(runtime.ContainerdConfig{Dir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	readyCtx, readyCancel := context.WithTimeout(ctx, time.Minute)
	defer readyCancel()
	if err := c.WaitReady(readyCtx); err != nil {
		t.Fatal(err)
	}
	if c.PID() != pid {
		t.Fatalf("supervisor runs %d, want the adopted %d", c.PID(), pid)
	}
}

// TestSupervisorReplacesOnConfigChange: a containerd left running is not
// adopted when the config has changed since; it is replaced.
func TestSupervisorReplacesOnConfigChange(t *testing.T) {
	env := runtimetest.Start(t, func(c *runtime.ContainerdConfig) { c.KeepRunning = true })
	old := env.Containerd.PID()
	env.StopContainerd()
	env.StartContainerd(t, func(c *runtime.ContainerdConfig) {
		c.KeepRunning = false
		c.InsecureRegistries = []string{"127.0.0.1:5999"}
	})
	if pid := env.Containerd.PID(); pid == old || pid == 0 {
		t.Fatalf("supervisor runs pid %d, want a new one (old %d)", pid, old)
	}
	if processRunning(old) {
		t.Fatalf("old containerd %d still runs", old)
	}
}
