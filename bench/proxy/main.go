// Command proxy benchmarks skiff's Service proxy (internal/network/proxy)
// in throwaway network namespaces: the time to write the whole nftables
// table for 1,000 Services of 10 endpoints each, the time to apply one
// endpoint change at that size, the Go heap the proxy keeps for them, the
// time from an EndpointSlice update to the rules through the Proxier's
// informers (fake API), and connections per second through a cluster IP
// against straight to the pod. Needs root; creates and deletes namespaces
// named skiffproxybench-<pid>-*.
//
//	go run ./bench/proxy [-services 1000] [-endpoints 10] [-only sync,change,memory,proxier,traffic] [-out file]
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
	services  int
	endpoints int
	changes   int
	seconds   int
}

var sections = []benchutil.Section[*bench]{
	{Name: "sync", Desc: "full sync: the whole table for N Services x M endpoints in one transaction", Run: runSync, Timeout: 5 * time.Minute},
	{Name: "change", Desc: "incremental sync: one endpoint of one Service changes, table at full size", Run: runChange, Timeout: 5 * time.Minute},
	{Name: "memory", Desc: "Go heap of the Syncer's model for N Services", Run: runMemory, Timeout: 5 * time.Minute},
	{Name: "proxier", Desc: "Proxier over a fake API: EndpointSlice update to rules applied", Run: runProxier, Timeout: 5 * time.Minute},
	{Name: "traffic", Desc: "new TCP connections per second: cluster IP against pod IP", Run: runTraffic, Timeout: 5 * time.Minute},
}

func main() {
	only := flag.String("only", "", "comma-separated sections to run (default all): "+benchutil.SectionNames(sections))
	out := flag.String("out", "", "also write the markdown table to this file")
	services := flag.Int("services", 1000, "Services in the table")
	endpoints := flag.Int("endpoints", 10, "endpoints per Service")
	changes := flag.Int("changes", 50, "endpoint changes timed in the change and proxier sections")
	seconds := flag.Int("seconds", 2, "seconds per traffic measurement")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench/proxy needs root (network namespaces, nftables)")
		os.Exit(2)
	}
	chosen, err := benchutil.Choose(sections, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	b := &bench{services: *services, endpoints: *endpoints, changes: *changes, seconds: *seconds}
	rows, failed := benchutil.RunAll(ctx, b, chosen, benchutil.Accounting{CPU: benchutil.SelfCPU, What: "this bench"})
	ok := benchutil.Publish("skiff service proxy benchmark", "in-process (go run ./bench/proxy)", rows, *out, failed)
	cancel()
	if !ok {
		os.Exit(1)
	}
}
