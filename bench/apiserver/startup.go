package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

const startupRuns = 5

// runStartup starts the server startupRuns times, each on a fresh data
// dir, and times spawn to the first 200 from /readyz and SIGTERM to exit.
func runStartup(ctx context.Context, b *bench) ([]result, error) {
	var ups, downs []time.Duration
	var mems []benchutil.Mem
	for i := 0; i < startupRuns; i++ {
		p, err := startServer(ctx, b.skiff, 60*time.Second)
		if err != nil {
			return nil, err
		}
		if m, err := benchutil.MemStatus(p.cmd.Process.Pid); err == nil {
			mems = append(mems, m)
		}
		p.stop()
		benchutil.Logf("  run %d: ready in %s, stopped in %s", i+1, benchutil.Dur(p.startup), benchutil.Dur(p.shutdown))
		ups = append(ups, p.startup)
		downs = append(downs, p.shutdown)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	runs := benchutil.Durs(ups)
	rows := []result{
		{"`skiff server` start to /readyz 200", fmt.Sprintf("median %s, max %s", benchutil.Dur(benchutil.Median(ups)), benchutil.Dur(benchutil.MaxOf(ups))),
			fmt.Sprintf("%d runs, each a fresh empty data dir; time from exec to the first 200 of GET /readyz over HTTPS, polled every %s (runs: %s)",
				startupRuns, readyPoll, runs)},
		{"SIGTERM to process exit", fmt.Sprintf("median %s, max %s", benchutil.Dur(benchutil.Median(downs)), benchutil.Dur(benchutil.MaxOf(downs))),
			fmt.Sprintf("same %d runs, stopped right after ready", startupRuns)},
	}
	if len(mems) > 0 {
		slices.SortFunc(mems, func(a, b benchutil.Mem) int { return cmp.Compare(a.RSS, b.RSS) })
		rows = append(rows, result{"RSS right after ready", mems[len(mems)/2].String(),
			"the run with the median VmRSS, read right after /readyz first answered 200"})
	}
	return rows, nil
}

// runIdle measures the RSS of a server left alone after start.
func runIdle(ctx context.Context, b *bench) ([]result, error) {
	wait := 60 * time.Second
	if b.quick {
		wait = 5 * time.Second
	}
	p, err := startServer(ctx, b.skiff, 60*time.Second)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	pid := p.cmd.Process.Pid
	cpu0 := benchutil.CPUTime(pid)
	benchutil.Logf("  idle for %s", wait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, fmt.Errorf("server exited while idle:\n%s", benchutil.Tail(p.log.String(), 20))
	}
	cpu := benchutil.CPUTime(pid) - cpu0
	m, err := benchutil.MemStatus(pid)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("idle RSS after %s", wait)
	how := "VmRSS from /proc/PID/status of a fresh server left idle after /readyz answered 200"
	if b.quick {
		label += " (-quick: not the 60 s figure)"
	}
	return []result{
		{label, m.String(), how},
		{fmt.Sprintf("idle CPU over %s", wait), fmt.Sprintf("%s (%.2f%% of one core)", benchutil.Dur(cpu), 100*cpu.Seconds()/wait.Seconds()),
			"utime+stime from /proc/PID/stat over the idle wait (10 ms ticks)"},
	}, nil
}
