// Command controllers benchmarks skiff's workload controllers over
// simulated nodes: how long a 100-replica Deployment takes to become
// Available and to roll out a new template, the controller manager's CPU
// and memory with 1,000 Deployments, and how long after a node's last
// heartbeat its pods run elsewhere. Each section starts `skiff server`
// (API only), `skiff scheduler`, `skiff controller-manager` and `skiff
// agent --simulate` as separate processes on fresh data dirs on 127.0.0.1,
// so each one's CPU and memory can be read, and stops them at the end.
//
//	go run ./bench/controllers -skiff bin/skiff [-only deployment,many,nodeloss] [-out file]
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
	skiff string
}

var sections = []benchutil.Section[*bench]{
	{Name: "deployment", Desc: "a 100-replica Deployment: created to Available, then a rolling update (maxSurge 25%)", Run: runDeployment, Timeout: 10 * time.Minute},
	{Name: "many", Desc: "1,000 Deployments of 1 replica: time to all Available, controller manager CPU and memory", Run: runMany, Timeout: 15 * time.Minute},
	{Name: "nodeloss", Desc: "a node stops heartbeating: its pods running elsewhere, tolerationSeconds 0 and the default 300", Run: runNodeLoss, Timeout: 15 * time.Minute},
}

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff binary to run")
	only := flag.String("only", "", "comma-separated sections to run (default all): "+benchutil.SectionNames(sections))
	out := flag.String("out", "", "also write the markdown table to this file")
	flag.Parse()
	chosen, cp, sum, rm, err := benchutil.Setup(sections, *only, *skiff)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	b := &bench{skiff: cp}
	rows, failed := benchutil.RunAll(ctx, b, chosen, benchutil.Accounting{CPU: benchutil.OwnCPU, What: "this bench and the processes it started"})
	ok := benchutil.Publish("skiff controllers benchmark", *skiff+" (sha256 "+sum+")", rows, *out, failed)
	cancel()
	rm()
	if !ok {
		os.Exit(1)
	}
}
