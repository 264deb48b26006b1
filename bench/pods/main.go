// Command pods benchmarks skiff's node agent: pod start-up latency (one
// pod at a time, and 30 created at once), the memory of the server,
// containerd and the shims with 0 and 30 pods, and their idle CPU. Every
// section starts `skiff server` with its node agent and containerd on a
// fresh data dir, on 127.0.0.1, and removes everything the node made when
// it ends, also on failure or Ctrl-C. Root only.
//
//	go run ./bench/pods -skiff bin/skiff [-only idle,seq,burst] [-quick] [-out file]
//
// It prints a markdown table: figure, value, how measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
	"github.com/skiff/skiff/test/images"
)

// bench is what every section is given.
type bench struct {
	skiff  string // private copy of the binary
	images string // busybox.tar and testserver.tar
	quick  bool
	debug  bool // run the server with --log-level debug
}

// waits are how long a node idles before memory is read, and the window
// CPU is measured over.
func (b *bench) waits() (settle, window time.Duration) {
	if b.quick {
		return 10 * time.Second, 20 * time.Second
	}
	return 60 * time.Second, 60 * time.Second
}

func (b *bench) quickNote() string {
	if b.quick {
		return " (-quick: not the 60 s figure)"
	}
	return ""
}

var sections = []benchutil.Section[*bench]{
	{Name: "idle", Desc: "a node without pods: RSS after 60 s, CPU over 60 s (10 s and 20 s with -quick)", Run: runIdle, Timeout: 6 * time.Minute},
	{Name: "seq", Desc: fmt.Sprintf("%d pods one at a time: create, Running, delete, gone", seqRuns), Run: runSeq, Timeout: 15 * time.Minute},
	{Name: "burst", Desc: fmt.Sprintf("%d pods created at once; then RSS and CPU with them running", burstPods), Run: runBurst, Timeout: 15 * time.Minute},
}

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff binary to run")
	only := flag.String("only", "", "comma-separated sections to run (default all): "+benchutil.SectionNames(sections))
	out := flag.String("out", "", "also write the markdown table to this file")
	quick := flag.Bool("quick", false, "idle 10 s instead of 60 s before reading RSS, measure CPU over 20 s instead of 60 s")
	debug := flag.Bool("debug", false, "run the server with --log-level debug (slower; for reading its log)")
	flag.Parse()

	chosen, err := benchutil.Choose(sections, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin, err := filepath.Abs(*skiff)
	if err == nil {
		err = checkHost(bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	b, sum, cleanup, err := prepare(bin, *quick, *debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer cleanup()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer cancel()

	rows, failed := benchutil.RunAll(ctx, b, chosen, accounting())
	if ctx.Err() != nil {
		failed = true
		rows = append(rows, benchutil.Result{Figure: "**interrupted**", Value: "by a signal; the nodes were cleaned up"})
	}
	if !benchutil.Publish("skiff node agent (pods) benchmark", *skiff+" (sha256 "+sum+")", rows, *out, failed) {
		cleanup()
		os.Exit(1)
	}
}

// checkHost checks for root, the binary and what the node needs.
func checkHost(bin string) error {
	if os.Geteuid() != 0 {
		return errors.New("bench/pods runs containers: run it as root")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("skiff binary: %w", err)
	}
	for _, tool := range []string{"containerd", "runc", "/usr/lib/cni/bridge", "ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the node needs %s: %w", tool, err)
		}
	}
	return nil
}

// prepare copies the binary (a rebuild during the run must not change
// what later sections measure) and builds the test images once.
func prepare(bin string, quick, debug bool) (*bench, string, func(), error) {
	cp, sum, rmBin, err := benchutil.Snapshot(bin)
	if err != nil {
		return nil, "", nil, fmt.Errorf("copy skiff binary: %w", err)
	}
	// In /tmp, as the nodes' data dirs: they hard-link the tarballs.
	dir, err := os.MkdirTemp("/tmp", "skiff-bench-images-")
	if err == nil {
		_, err = images.Build(dir)
	}
	cleanup := func() {
		rmBin()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	if err != nil {
		cleanup()
		return nil, "", nil, fmt.Errorf("test images: %w", err)
	}
	return &bench{skiff: cp, images: dir, quick: quick, debug: debug}, sum, cleanup, nil
}

// accounting is the CPU the "other processes" row leaves out: this bench
// and, from their cpuacct cgroups, everything the nodes ran.
func accounting() benchutil.Accounting {
	if _, err := os.Stat(filepath.Join(cpuacctRoot, "cpuacct.usage")); err != nil {
		return benchutil.Accounting{CPU: benchutil.OwnCPU,
			What: "this bench and its servers (no cpuacct cgroup hierarchy: containerd, shims and pods count as other processes)"}
	}
	return benchutil.Accounting{
		CPU:  func() time.Duration { return benchutil.SelfCPU() + time.Duration(accounted.Load()) },
		What: "this bench and the nodes' processes (server, containerd, shims, runc, CNI plugins, pods: their cpuacct cgroups)",
	}
}
