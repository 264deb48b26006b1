package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netns is a named network namespace the bench created.
type netns struct {
	name string
	fd   int
}

// newNetns creates skiffproxybench-<pid>-<role>; close deletes it.
func newNetns(role string) (*netns, error) {
	name := fmt.Sprintf("skiffproxybench-%d-%s", os.Getpid(), role)
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = ip("netns", "del", name)
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	n := &netns{name: name, fd: fd}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func (n *netns) close() {
	unix.Close(n.fd)
	if err := ip("netns", "del", n.name); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// ip runs ip(8) inside the namespace.
func (n *netns) ip(args ...string) error {
	return ip(append([]string{"-n", n.name}, args...)...)
}

func (n *netns) exec(args ...string) error {
	return run(append([]string{"ip", "netns", "exec", n.name}, args...)...)
}

func ip(args ...string) error { return run(append([]string{"ip"}, args...)...) }

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// enter moves the calling goroutine's thread into the namespace for good:
// the thread stays locked, and the runtime retires it when the goroutine
// ends.
func (n *netns) enter() error {
	runtime.LockOSThread()
	if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", n.name, err)
	}
	return nil
}
