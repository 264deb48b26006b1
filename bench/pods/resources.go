package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// containerdPID is the node's containerd, from its pid file, or 0.
func (n *node) containerdPID() int {
	b, err := os.ReadFile(filepath.Join(n.dir, "agent", "containerd", "containerd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || !bytes.Contains(cmd, []byte(n.dir)) {
		return 0
	}
	return pid
}

// shimPIDs are the node's containerd shims: their command line names the
// shim and the node's containerd socket.
func (n *node) shimPIDs() []int {
	var out []int
	for _, pid := range processesNaming(n.socket()) {
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(cmd, []byte("containerd-shim")) {
			out = append(out, pid)
		}
	}
	return out
}

// pss is a process's proportional set size from smaps_rollup, in bytes.
func pss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "Pss:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v << 10
		}
	}
	return 0
}

// memRows reports the RSS of the server, containerd and the shims.
func (n *node) memRows(label string, wantShims int) ([]benchutil.Result, error) {
	srv, err := benchutil.MemStatus(n.pid())
	if err != nil {
		return nil, fmt.Errorf("server memory: %w", err)
	}
	ctdPID := n.containerdPID()
	ctd, err := benchutil.MemStatus(ctdPID)
	if err != nil {
		return nil, fmt.Errorf("containerd (pid %d) memory: %w", ctdPID, err)
	}
	shims := n.shimPIDs()
	if len(shims) != wantShims {
		return nil, fmt.Errorf("%d containerd shims run, want %d (one per pod)", len(shims), wantShims)
	}
	var sum benchutil.Mem
	var sumPss int64
	for _, pid := range shims {
		m, err := benchutil.MemStatus(pid)
		if err != nil {
			return nil, fmt.Errorf("shim %d memory: %w", pid, err)
		}
		sum.RSS, sum.Anon, sum.File = sum.RSS+m.RSS, sum.Anon+m.Anon, sum.File+m.File
		sumPss += pss(pid)
	}
	shimValue := "none"
	if len(shims) > 0 {
		shimValue = fmt.Sprintf("%s total for %d shims (anon %s + file %s); PSS total %s; %s RSS each",
			benchutil.Mib(sum.RSS), len(shims), benchutil.Mib(sum.Anon), benchutil.Mib(sum.File), benchutil.Mib(sumPss),
			benchutil.Mib(sum.RSS/int64(len(shims))))
	}
	return []benchutil.Result{
		{Figure: "RSS of `skiff server`, " + label, Value: srv.String(),
			How: "VmRSS, RssAnon, RssFile and VmHWM from /proc/PID/status; one process holds the API server, embedded etcd, controllers and the node agent"},
		{Figure: "RSS of containerd, " + label, Value: ctd.String(), How: "the agent's own containerd 1.6, same /proc figures"},
		{Figure: "RSS of the containerd shims, " + label, Value: shimValue,
			How: "containerd-shim-runc-v2 processes of this node (one per pod): VmRSS summed, which counts the shared binary pages once per shim; PSS (smaps_rollup) splits them"},
	}, nil
}

// cpuSample is the CPU used so far by each of the node's parts.
type cpuSample struct {
	at         time.Time
	server     time.Duration
	containerd time.Duration
	// ctdChildren is what containerd ran and reaped: CNI plugins (and
	// the iptables they run), shim launches.
	ctdChildren time.Duration
	// shims is the shims' own CPU and that of what they reaped (runc).
	shims time.Duration
	// pods is the pods' cgroup: runc init, pause, the containers.
	pods time.Duration
	// cgroups is the whole node: the server's cgroup and the pods'.
	cgroups time.Duration
}

func (n *node) sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), server: benchutil.CPUTime(n.pid()), cgroups: n.cgroupCPU(),
		pods: cpuacctUsage(filepath.Join(cpuacctRoot, n.cgroup))}
	if pid := n.containerdPID(); pid > 0 {
		s.containerd, s.ctdChildren = benchutil.CPUTime(pid), benchutil.ChildrenCPUTime(pid)
	}
	for _, pid := range n.shimPIDs() {
		s.shims += benchutil.CPUTime(pid) + benchutil.ChildrenCPUTime(pid)
	}
	return s
}

// sub is the CPU used between a and s.
func (s cpuSample) sub(a cpuSample) cpuSample {
	return cpuSample{at: s.at, server: s.server - a.server, containerd: s.containerd - a.containerd,
		ctdChildren: s.ctdChildren - a.ctdChildren, shims: s.shims - a.shims, pods: s.pods - a.pods, cgroups: s.cgroups - a.cgroups}
}

// add sums two differences.
func (s cpuSample) add(d cpuSample) cpuSample {
	return cpuSample{server: s.server + d.server, containerd: s.containerd + d.containerd,
		ctdChildren: s.ctdChildren + d.ctdChildren, shims: s.shims + d.shims, pods: s.pods + d.pods, cgroups: s.cgroups + d.cgroups}
}

// split formats a difference divided by n.
func (s cpuSample) split(n int) string {
	d := func(t time.Duration) string { return benchutil.Dur(t / time.Duration(n)) }
	out := fmt.Sprintf("server %s, containerd %s + %s by what it ran (CNI plugins, shim launches), shims %s with what they ran (runc)",
		d(s.server), d(s.containerd), d(s.ctdChildren), d(s.shims))
	if s.cgroups > 0 {
		out = fmt.Sprintf("whole node %s: %s, pods' cgroup %s (runc init, pause, the containers)", d(s.cgroups), out, d(s.pods))
	}
	return out
}

// cpuRows measures the CPU of the server, containerd, the shims and the
// whole node over window, while the bench does nothing.
func (n *node) cpuRows(ctx context.Context, window time.Duration, label string) ([]benchutil.Result, error) {
	shims := len(n.shimPIDs())
	a := n.sampleCPU()
	if err := n.sleep(ctx, window); err != nil {
		return nil, err
	}
	b := n.sampleCPU()
	if got := len(n.shimPIDs()); got != shims {
		return nil, fmt.Errorf("the number of shims changed from %d to %d during the CPU window", shims, got)
	}
	wall := b.at.Sub(a.at)
	pct := func(d time.Duration) string {
		return fmt.Sprintf("%s over %s = %.2f %% of one core", benchutil.Dur(d), benchutil.Dur(wall.Round(time.Second)), 100*d.Seconds()/wall.Seconds())
	}
	rows := []benchutil.Result{
		{Figure: "CPU of `skiff server`, " + label, Value: pct(b.server - a.server),
			How: "utime+stime from /proc/PID/stat (10 ms ticks) over the window; the whole process: API server, etcd and controllers are in it with the agent"},
		{Figure: "CPU of containerd, " + label, Value: pct(b.containerd - a.containerd), How: "same, containerd's own threads"},
		{Figure: "CPU of the containerd shims, " + label, Value: pct(b.shims - a.shims), How: fmt.Sprintf("same, summed over the %d shims, with what they ran", shims)},
	}
	if n.procCg != "" {
		rows = append(rows, benchutil.Result{Figure: "CPU of the whole node, " + label, Value: pct(b.cgroups - a.cgroups),
			How: "cpuacct.usage of the server's cgroup (server, containerd, shims and every process they ran) plus the pods' cgroup"})
	}
	return rows, nil
}

// runIdle measures a node without pods: RSS after the settle time, then
// CPU over the window.
func runIdle(ctx context.Context, b *bench) (rows []benchutil.Result, err error) {
	n, err := startNode(ctx, b)
	if err != nil {
		return nil, err
	}
	defer n.finish(&err)
	settle, window := b.waits()
	benchutil.Logf("  node %s Ready; idle for %s, then CPU over %s", n.name, settle, window)
	if err := n.sleep(ctx, settle); err != nil {
		return nil, err
	}
	rows, err = n.memRows(fmt.Sprintf("0 pods, %s after Ready%s", settle, b.quickNote()), 0)
	if err != nil {
		return nil, err
	}
	cpu, err := n.cpuRows(ctx, window, fmt.Sprintf("0 pods, idle%s", b.quickNote()))
	return append(rows, cpu...), err
}

// runBurst creates burstPods pods at once and times their start, then
// leaves them running: RSS after the settle time, CPU over the window.
// Last it deletes them all at once.
func runBurst(ctx context.Context, b *bench) (rows []benchutil.Result, err error) {
	n, err := startNode(ctx, b)
	if err != nil {
		return nil, err
	}
	defer n.finish(&err)
	t, err := startTracker(ctx, n.client)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	benchutil.Logf("  node %s Ready; creating %d pods at once", n.name, burstPods)
	c0 := n.sampleCPU()
	starts, err := startBurst(ctx, n, t)
	if err != nil {
		return nil, err
	}
	cpu := n.sampleCPU().sub(c0)
	rows = append(burstRows(n, t, starts), benchutil.Result{Figure: fmt.Sprintf("CPU during the burst (%s, 2 cores)", benchutil.Dur(cpu.at.Sub(c0.at))),
		Value: cpu.split(1), How: "first Create call to all pods seen running: utime+stime (and children's) from /proc; whole node from the cpuacct cgroups"})
	settle, window := b.waits()
	benchutil.Logf("  %d pods running; idle for %s, then CPU over %s", burstPods, settle, window)
	if err := n.sleep(ctx, settle); err != nil {
		return rows, err
	}
	mem, err := n.memRows(fmt.Sprintf("%d pods running, %s after the last started%s", burstPods, settle, b.quickNote()), burstPods)
	if err != nil {
		return rows, err
	}
	rows = append(rows, mem...)
	idle, err := n.cpuRows(ctx, window, fmt.Sprintf("%d pods running, idle%s", burstPods, b.quickNote()))
	rows = append(rows, idle...)
	if err != nil {
		return rows, err
	}
	del, err := deleteAll(ctx, n, t, starts)
	if err != nil {
		return rows, err
	}
	return append(rows, del), nil
}
