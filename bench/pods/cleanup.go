package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/internal/runtime"
	"github.com/skiff/skiff/internal/runtime/runtimetest"
	"github.com/skiff/skiff/test/cluster"
)

// accounted is the CPU time (ns) of the cleaned-up nodes' cgroups: the
// server, containerd, shims and pods. The "other processes' CPU" row
// leaves it out.
var accounted atomic.Int64

// cleanup removes everything the node made, as the e2e tests do: it kills
// the server (containerd lives on in its own process group), removes
// every sandbox through CRI so CNI releases its addresses and rules,
// kills what is left under the data dir and removes it, then removes the
// pods' cgroups, the bridge, the unreachable routes, and the network
// namespaces and NAT rules CNI could not. It reports anything left over.
func (n *node) cleanup() error {
	if n.cleaned {
		return nil
	}
	n.cleaned = true
	if n.rt != nil {
		n.rt.Close()
	}
	n.kill()
	ids, netns := n.removeSandboxes()
	ids = append(ids, sandboxIDs(n.containerdLog())...)
	var errs []error
	if err := runtimetest.Purge(n.dir); err != nil {
		errs = append(errs, err)
	}
	cluster.RemoveNetns(netns)
	cluster.RemoveCNIRules(ids)
	removeNewChains(n.natBefore)
	accounted.Add(int64(n.cgroupCPU()))
	cluster.RemoveCgroup(n.cgroup)
	if n.procCg != "" {
		_ = os.Remove(n.procCg)
	}
	if _, err := os.Stat("/sys/class/net/" + n.bridge); err == nil {
		if out, err := exec.Command("ip", "link", "del", n.bridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", n.bridge, err, out))
		}
	}
	for _, cidr := range []string{clusterCIDR, serviceCIDR} {
		_ = exec.Command("ip", "route", "del", "unreachable", cidr).Run()
	}
	// The service proxy's table (its own name: the bridge's); gone already
	// if the server stopped cleanly.
	_ = exec.Command("nft", "delete", "table", "ip", n.bridge).Run()
	if left := n.leftovers(netns, ids); len(left) > 0 {
		errs = append(errs, fmt.Errorf("clean-up left: %s", strings.Join(left, "; ")))
	}
	return errors.Join(errs...)
}

// kill ends the server's process group with SIGKILL.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil || n.exited() {
		return
	}
	_ = syscall.Kill(-n.pid(), syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		benchutil.Logf("server pid %d did not exit after SIGKILL", n.pid())
	}
}

// removeSandboxes stops and removes every sandbox and container through
// containerd's CRI, and returns the sandboxes' IDs and network namespaces.
func (n *node) removeSandboxes() (ids, netns []string) {
	if _, err := os.Stat(n.socket()); err != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := runtime.Dial(ctx, "unix://"+n.socket())
	if err != nil {
		return nil, nil
	}
	defer rt.Close()
	netns, ids = cluster.SandboxNetworks(ctx, rt)
	if err := runtimetest.RemoveAll(ctx, rt); err != nil {
		benchutil.Logf("remove sandboxes: %v", err)
	}
	return ids, netns
}

// natRules returns `iptables -t nat -S`, one rule a line.
func natRules() []string {
	out, err := exec.Command("iptables", "-t", "nat", "-S").Output()
	if err != nil {
		return nil
	}
	return strings.Split(string(out), "\n")
}

// removeNewChains removes the CNI chains that were not there before the
// node started (the portmap plugin's shared CNI-HOSTPORT-* chains, made
// at the first pod on a machine) with the rules that jump to them, if
// they are empty: then no pod of any node uses them.
func removeNewChains(before map[string]bool) {
	rules := natRules()
	for _, rule := range rules {
		chain, ok := strings.CutPrefix(rule, "-N CNI-")
		if !ok || before[rule] {
			continue
		}
		chain = "CNI-" + chain
		if slices.ContainsFunc(rules, func(r string) bool { return strings.HasPrefix(r, "-A "+chain+" ") }) {
			continue
		}
		for _, r := range rules {
			if strings.HasPrefix(r, "-A ") && strings.HasSuffix(r, " -j "+chain) && !before[r] {
				_ = exec.Command("sh", "-c", "iptables -t nat "+strings.Replace(r, "-A ", "-D ", 1)).Run()
			}
		}
		_ = exec.Command("iptables", "-t", "nat", "-X", chain).Run()
	}
}

// cgroupDirs returns rel in every hierarchy where it exists.
func cgroupDirs(rel string) []string {
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	var out []string
	for _, h := range hier {
		if _, err := os.Stat(filepath.Join(h, rel)); err == nil {
			out = append(out, filepath.Join(h, rel))
		}
	}
	return out
}

// cgroupCPU is the CPU time counted in the server's cgroup and the pods'
// cgroup so far.
func (n *node) cgroupCPU() time.Duration {
	var total time.Duration
	for _, dir := range []string{n.procCg, filepath.Join(cpuacctRoot, n.cgroup)} {
		if dir != "" {
			total += cpuacctUsage(dir)
		}
	}
	return total
}

// cpuacctUsage reads a cgroup's cpuacct.usage (ns), 0 if there is none.
func cpuacctUsage(dir string) time.Duration {
	b, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage"))
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(v)
}

// leftovers lists what cleanup could not remove.
func (n *node) leftovers(netns, ids []string) []string {
	var left []string
	if _, err := os.Stat(n.dir); err == nil {
		left = append(left, "data dir "+n.dir)
	}
	if pids := processesNaming(n.dir); len(pids) > 0 {
		left = append(left, fmt.Sprintf("processes %v", pids))
	}
	left = append(left, cgroupDirs(n.cgroup)...)
	if _, err := os.Stat(n.procCg); n.procCg != "" && err == nil {
		left = append(left, n.procCg)
	}
	if _, err := os.Stat("/sys/class/net/" + n.bridge); err == nil {
		left = append(left, "bridge "+n.bridge)
	}
	for _, p := range netns {
		if _, err := os.Stat(p); err == nil {
			left = append(left, "netns "+p)
		}
	}
	if out, _ := exec.Command("ip", "route", "show", "type", "unreachable").Output(); bytes.Contains(out, []byte(clusterCIDR)) || bytes.Contains(out, []byte(serviceCIDR)) {
		left = append(left, "unreachable routes: "+strings.TrimSpace(string(out)))
	}
	prefix := strings.TrimSuffix(clusterCIDR, "0.0/16")
	for _, line := range natRules() {
		if strings.Contains(line, prefix) || containsAny(line, ids) || (strings.HasPrefix(line, "-N CNI-") && !n.natBefore[line]) {
			left = append(left, "NAT rule "+line)
		}
	}
	return left
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// processesNaming returns the pids whose command line contains s.
func processesNaming(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && bytes.Contains(cmd, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
