package benchutil

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Process is one child process (a server, scheduler, simulator...) with
// its log.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Log  *SyncBuffer
	done chan struct{}
}

// Spawn starts bin with args in its own process group; it gets SIGTERM if
// the bench dies.
func Spawn(name, bin string, args ...string) (*Process, error) {
	p := &Process{Name: name, Log: &SyncBuffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Log, p.Log
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited says the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, and SIGKILL to the group after 10 s.
func (p *Process) Stop() {
	if p == nil || p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
}

// Kill ends the process group at once, as a crash would.
func (p *Process) Kill() {
	if p == nil || p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// WaitFor polls cond every 200 ms for at most timeout; it fails early if p
// exits.
func WaitFor(ctx context.Context, timeout time.Duration, p *Process, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p.Exited() {
			return fmt.Errorf("%s exited while waiting for %s:\n%s", p.Name, what, Tail(p.Log.String(), 30))
		}
		if cond() {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: not done in %v; %s log:\n%s", what, timeout, p.Name, Tail(p.Log.String(), 30))
}
