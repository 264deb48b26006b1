package images

import (
	"bufio"
	"encoding/json"
	"errors"
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
)

// testServer builds the test server and returns its path.
func testServer(t *testing.T) string {
	t.Helper()
	bin, err := testServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "testserver")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// started is a running test server command.
type started struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

func start(t *testing.T, bin string, env []string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &started{cmd: cmd, lines: bufio.NewScanner(out)}
}

// waitLine reads output until a line containing want.
func (s *started) waitLine(t *testing.T, want string) {
	t.Helper()
	for s.lines.Scan() {
		if strings.Contains(s.lines.Text(), want) {
			return
		}
	}
	t.Fatalf("%v: no line %q", s.cmd.Args, want)
}

// wait waits for the exit and returns the exit code.
func (s *started) wait(t *testing.T) int {
	t.Helper()
	err := s.cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (s *started) term(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return s.wait(t)
}

func TestTestServerCommands(t *testing.T) {
	bin := testServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	if err := exec.Command(bin, "exit", "3").Run(); !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("exit 3: %v", err)
	}
	if out, err := exec.Command(bin, "cat", file).Output(); err != nil || string(out) != "content\n" {
		t.Errorf("cat: %q %v", out, err)
	}
	cmd := exec.Command(bin, "print-env")
	cmd.Env = []string{"A=1", "B=2"}
	if out, err := cmd.Output(); err != nil || string(out) != "A=1\nB=2\n" {
		t.Errorf("print-env: %q %v", out, err)
	}
	if err := exec.Command(bin, "sleep", "0.05").Run(); err != nil {
		t.Errorf("sleep: %v", err)
	}

	alloc := start(t, bin, nil, "alloc", "32")
	alloc.waitLine(t, "allocated 32 MiB, sleeping")
	if code := alloc.term(t); code != 0 {
		t.Errorf("alloc exit %d", code)
	}

	trapped := filepath.Join(dir, "term")
	trap := start(t, bin, nil, "trap-term", trapped)
	trap.waitLine(t, "waiting for SIGTERM")
	began := time.Now()
	if code := trap.term(t); code != 0 {
		t.Errorf("trap-term exit %d", code)
	}
	if d := time.Since(began); d < time.Second {
		t.Errorf("trap-term exited after %v, before 1 s", d)
	}
	if b, err := os.ReadFile(trapped); err != nil || !strings.HasPrefix(string(b), "TERM ") {
		t.Errorf("trap-term wrote %q %v", b, err)
	}

	loopFile := filepath.Join(dir, "loop")
	loop := start(t, bin, nil, "write-loop", loopFile)
	time.Sleep(350 * time.Millisecond)
	if code := loop.term(t); code != 0 {
		t.Errorf("write-loop exit %d", code)
	}
	if b, _ := os.ReadFile(loopFile); strings.Count(string(b), "\n") < 2 {
		t.Errorf("write-loop wrote %q", b)
	}
}

func TestTestServerServe(t *testing.T) {
	bin := testServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	unhealthy := filepath.Join(t.TempDir(), "unhealthy")
	srv := start(t, bin, []string{fmt.Sprintf("PORT=%d", port), "GREETING=hi", "UNHEALTHY_FILE=" + unhealthy})
	srv.waitLine(t, "listening on")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	var echo struct {
		Hostname, RemoteAddr, Path string
		Headers                    map[string][]string
	}
	code, body := get(t, url+"/some/path")
	if err := json.Unmarshal([]byte(body), &echo); err != nil || code != 200 || echo.Path != "/some/path" || echo.RemoteAddr == "" || echo.Hostname == "" {
		t.Errorf("echo: %d %q %v", code, body, err)
	}
	expect(t, url+"/healthz", 200, "ok\n")
	expect(t, url+"/fail", 200, "failing\n")
	expect(t, url+"/healthz", 500, "")
	expect(t, url+"/recover", 200, "recovered\n")
	expect(t, url+"/healthz", 200, "ok\n")
	if err := os.WriteFile(unhealthy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, url+"/healthz", 500, "")
	if err := os.Remove(unhealthy); err != nil {
		t.Fatal(err)
	}
	expect(t, url+"/healthz", 200, "ok\n")
	if _, body := get(t, url+"/env"); !strings.Contains(body, "GREETING=hi\n") {
		t.Errorf("env: %q", body)
	}
	if _, body := get(t, url+"/file?path=/etc/hostname"); body == "" {
		t.Errorf("file: empty")
	}
	expect(t, url+"/file?path=/nonexistent", 404, "")
	expect(t, url+"/exit?code=4", 200, "exiting with 4\n")
	if code := srv.wait(t); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func expect(t *testing.T, url string, code int, body string) {
	t.Helper()
	gotCode, gotBody := get(t, url)
	if gotCode != code || (body != "" && gotBody != body) {
		t.Errorf("%s: %d %q, want %d %q", url, gotCode, gotBody, code, body)
	}
}
