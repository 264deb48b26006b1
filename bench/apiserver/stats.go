package main

import (
	"fmt"
	"time"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

// p50p99 formats the median and 99th percentile of ds.
func p50p99(ds []time.Duration) string {
	return fmt.Sprintf("p50 %s, p99 %s", benchutil.Dur(benchutil.Percentile(ds, 50)), benchutil.Dur(benchutil.Percentile(ds, 99)))
}

// rate formats n operations in d as operations per second.
func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f/s", float64(n)/d.Seconds())
}

// size formats a response size.
func size(b int) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
}

// cpuPer formats server CPU time spent per operation.
func cpuPer(cpu time.Duration, n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s CPU total, %s per op", benchutil.Dur(cpu), benchutil.Dur(cpu/time.Duration(n)))
}
