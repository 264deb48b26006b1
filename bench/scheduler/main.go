// Command scheduler benchmarks skiff's scheduler over simulated nodes:
// pods bound per second for 10,000 pods on 1,000 nodes (plain requests,
// zone spread constraints, and pod anti-affinity), the time from create to
// bound while 100 pods/s arrive, and the scheduler's memory with 1,000
// nodes and 30,000 pods. Each section starts `skiff server` (no agent, no
// scheduler), `skiff scheduler` as its own process and `skiff agent
// --simulate N`, on fresh data dirs on 127.0.0.1, and stops them at the
// end.
//
//	go run ./bench/scheduler -skiff bin/skiff [-only plain,spread,anti,latency,memory] [-nodes 1000] [-pods 10000] [-out file]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

type bench struct {
	skiff   string
	nodes   int
	pods    int
	memPods int
	rate    int
	seconds int
	debug   string // the scheduler's --debug-address, for profiling
}

var sections = []benchutil.Section[*bench]{
	{Name: "plain", Desc: "throughput: pods with cpu and memory requests", Run: runPlain, Timeout: 15 * time.Minute},
	{Name: "spread", Desc: "throughput: pods with a zone topology spread constraint (maxSkew 1, DoNotSchedule)", Run: runSpread, Timeout: 15 * time.Minute},
	{Name: "anti", Desc: "throughput: pods with required pod anti-affinity per hostname", Run: runAnti, Timeout: 15 * time.Minute},
	{Name: "latency", Desc: "create to bound while pods arrive at a steady rate", Run: runLatency, Timeout: 15 * time.Minute},
	{Name: "memory", Desc: "scheduler RSS with 1,000 nodes and 30,000 pods", Run: runMemory, Timeout: 30 * time.Minute},
}

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff binary to run")
	only := flag.String("only", "", "comma-separated sections to run (default all): "+benchutil.SectionNames(sections))
	out := flag.String("out", "", "also write the markdown table to this file")
	nodes := flag.Int("nodes", 1000, "simulated nodes")
	pods := flag.Int("pods", 10000, "pods per throughput section")
	memPods := flag.Int("memory-pods", 30000, "pods in the memory section")
	rate := flag.Int("rate", 100, "pods per second in the latency section")
	seconds := flag.Int("seconds", 30, "length of the latency section's arrivals")
	debug := flag.String("scheduler-debug-address", "", "run the scheduler with --debug-address (pprof, metrics) on this loopback address")
	flag.Parse()

	chosen, cp, sum, rm, err := benchutil.Setup(sections, *only, *skiff)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	b := &bench{skiff: cp, nodes: *nodes, pods: *pods, memPods: *memPods, rate: *rate, seconds: *seconds, debug: *debug}
	rows, failed := benchutil.RunAll(ctx, b, chosen, benchutil.Accounting{CPU: benchutil.OwnCPU, What: "this bench and its server, scheduler and simulated nodes"})
	ok := benchutil.Publish("skiff scheduler benchmark", *skiff+" (sha256 "+sum+")", rows, *out, failed)
	cancel()
	rm()
	if !ok {
		os.Exit(1)
	}
}
