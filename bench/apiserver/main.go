// Command apiserver benchmarks `skiff server` with its embedded store:
// start-up time, memory, create/get latency and throughput, large lists
// and watch fan-out. Every section starts its own server on a fresh data
// dir on 127.0.0.1 and stops it with SIGTERM.
//
//	go run ./bench/apiserver -skiff bin/skiff [-only startup,list] [-quick] [-out file]
//
// It prints a markdown table: figure, value, how measured.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// result is one row of the table.
type result struct {
	Figure, Value, How string
}

// bench is what every section is given.
type bench struct {
	skiff string // private copy of the binary
	quick bool
	// name and sum (sha256 prefix) identify the binary in the report.
	name, sum string
}

// section turns a section's run func into the shared runner's.
func section(name, desc string, run func(ctx context.Context, b *bench) ([]result, error), timeout time.Duration) benchutil.Section[*bench] {
	return benchutil.Section[*bench]{Name: name, Desc: desc, Timeout: timeout,
		Run: func(ctx context.Context, b *bench) ([]benchutil.Result, error) {
			rows, err := run(ctx, b)
			out := make([]benchutil.Result, len(rows))
			for i, r := range rows {
				out[i] = benchutil.Result(r)
			}
			return out, err
		}}
}

var sections = []benchutil.Section[*bench]{
	section("startup", "spawn to /readyz 200, 5 runs", runStartup, 5*time.Minute),
	section("idle", "RSS of an idle server after 60 s (5 s with -quick)", runIdle, 3*time.Minute),
	section("writes", "ConfigMap creates, 1 and 32 clients", runWrites, 10*time.Minute),
	section("get", "single-object get latency", runGet, 5*time.Minute),
	section("list", "list of 10,000 pods: JSON, Table, protobuf", runList, 15*time.Minute),
	section("watch", "100 watchers x 1,000-create burst", runWatch, 10*time.Minute),
}

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff binary to run")
	only := flag.String("only", "", "comma-separated sections to run (default all): "+benchutil.SectionNames(sections))
	out := flag.String("out", "", "also write the markdown table to this file")
	quick := flag.Bool("quick", false, "wait 5 s instead of 60 s before measuring idle RSS")
	flag.Parse()

	bin, err := filepath.Abs(*skiff)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff binary:", err)
		os.Exit(2)
	}
	chosen, err := benchutil.Choose(sections, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Run a private copy: a rebuild of -skiff during the run must not
	// change what later sections measure.
	bin, sum, cleanup, err := benchutil.Snapshot(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy skiff binary:", err)
		os.Exit(2)
	}
	defer cleanup()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	b := &bench{skiff: bin, quick: *quick, name: *skiff, sum: sum}
	rows, failed := benchutil.RunAll(ctx, b, chosen, benchutil.Accounting{CPU: benchutil.OwnCPU, What: "this bench and its servers"})
	if !benchutil.Publish("skiff apiserver benchmark", b.name+" (sha256 "+b.sum+")", rows, *out, failed) {
		cleanup()
		os.Exit(1)
	}
}
