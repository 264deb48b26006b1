package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const pollInterval = 100 * time.Millisecond

// readPidFile returns the pid in path, or 0.
func readPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false
	}
	return stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// isContainerdFor reports whether pid is alive and was started with
// cfgPath on its command line (guarding against a reused pid).
func isContainerdFor(pid int, cfgPath string) bool {
	if !alive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimSuffix(cmdline, []byte{0}), []byte{0})
	if len(args) < 3 || filepath.Base(string(args[0])) != "containerd" {
		return false
	}
	for i := 1; i+1 < len(args); i++ {
		if string(args[i]) == "--config" && string(args[i+1]) == cfgPath {
			return true
		}
	}
	return false
}

// findContainerdFor looks through /proc for a containerd started with
// cfgPath and returns its pid, or 0.
func findContainerdFor(cfgPath string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if isContainerdFor(pid, cfgPath) {
			return pid
		}
	}
	return 0
}

// waitGone waits up to d for pid to exit (or for exited, if not nil, to
// fire) and reports whether it did.
func waitGone(pid int, exited <-chan error, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return true
		case <-deadline.C:
			return !alive(pid)
		case <-tick.C:
			if !alive(pid) {
				return true
			}
		}
	}
}

// pollExit watches a process that is not our child (so it cannot be
// waited for) and reports on the channel when it is gone. It stops
// watching when ctx ends.
func pollExit(ctx context.Context, pid int) <-chan error {
	exited := make(chan error, 1)
	go func() {
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if !alive(pid) {
					exited <- errors.New("process is gone")
					return
				}
			}
		}
	}()
	return exited
}

// openLog opens containerd's log for appending, first rotating it to
// path.1 when it has grown past maxLogSize.
func openLog(path string) (*os.File, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("containerd log: %w", err)
	}
	return f, nil
}

// withSystemPath makes sure PATH has the system directories, where
// containerd finds runc and its shims.
func withSystemPath(env []string) []string {
	path := ""
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = p
			continue
		}
		out = append(out, kv)
	}
	have := map[string]bool{}
	dirs := []string{}
	if path != "" {
		dirs = strings.Split(path, ":")
	}
	for _, d := range dirs {
		have[d] = true
	}
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if !have[d] {
			dirs = append(dirs, d)
		}
	}
	return append(out, "PATH="+strings.Join(dirs, ":"))
}

// waitSocket waits until containerd's CRI at address answers, for at most
// d (0: until ctx ends).
func waitSocket(ctx context.Context, address string, d time.Duration) error {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	rt, err := Dial(ctx, "unix://"+address)
	if err != nil {
		return err
	}
	defer rt.Close()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := rt.Version(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("containerd at %s does not answer: %w (last error: %w)", address, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
