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
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// snapshot copies the binary to a temporary directory and returns the
// copy, the first 12 hex digits of its sha256 and a clean-up func. It
// copies as cp does (io.Copy, copy_file_range): one big write(2) would
// leave the file in large page-cache folios, and the server's RssFile
// (the mapped binary) would then read about 25 MiB higher than for the
// binary go build wrote.
func snapshot(bin string) (string, string, func(), error) {
	src, err := os.Open(bin)
	if err != nil {
		return "", "", nil, err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "skiff-bench-bin-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	cp := filepath.Join(dir, "skiff")
	dst, err := os.OpenFile(cp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	f, err := os.Open(cp)
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return cp, hex.EncodeToString(h.Sum(nil))[:12], cleanup, nil
}

// result is one row of the table.
type result struct {
	figure, value, how string
}

// bench is what every section is given.
type bench struct {
	skiff string // private copy of the binary
	quick bool
	// name and sum (sha256 prefix) identify the binary in the report.
	name, sum string
}

// section is one independent measurement with its own server.
type section struct {
	name string
	desc string
	run  func(ctx context.Context, b *bench) ([]result, error)
	// timeout bounds the whole section.
	timeout time.Duration
}

var sections = []section{
	{"startup", "spawn to /readyz 200, 5 runs", runStartup, 5 * time.Minute},
	{"idle", "RSS of an idle server after 60 s (5 s with -quick)", runIdle, 3 * time.Minute},
	{"writes", "ConfigMap creates, 1 and 32 clients", runWrites, 10 * time.Minute},
	{"get", "single-object get latency", runGet, 5 * time.Minute},
	{"list", "list of 10,000 pods: JSON, Table, protobuf", runList, 15 * time.Minute},
	{"watch", "100 watchers x 1,000-create burst", runWatch, 10 * time.Minute},
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff binary to run")
	only := flag.String("only", "", "comma-separated sections to run (default all): "+sectionNames())
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
	chosen, err := choose(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Run a private copy: a rebuild of -skiff during the run must not
	// change what later sections measure.
	bin, sum, cleanup, err := snapshot(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy skiff binary:", err)
		os.Exit(2)
	}
	defer cleanup()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	b := &bench{skiff: bin, quick: *quick, name: *skiff, sum: sum}
	rows, failed := runAll(ctx, b, chosen)
	table := render(b, rows)
	fmt.Print(table)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(os.Stderr, "FAILED: some sections failed; see the table")
		cleanup()
		os.Exit(1)
	}
}

func sectionNames() string {
	var names []string
	for _, s := range sections {
		names = append(names, s.name)
	}
	return strings.Join(names, ",")
}

func choose(only string) ([]section, error) {
	if only == "" {
		return sections, nil
	}
	var out []section
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, s := range sections {
			if s.name == strings.TrimSpace(name) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown section %q (have %s)", name, sectionNames())
		}
	}
	return out, nil
}

// runAll runs the sections one after the other; a failed section adds a
// FAILED row and the others still run.
func runAll(ctx context.Context, b *bench, chosen []section) ([]result, bool) {
	var rows []result
	failed := false
	for _, s := range chosen {
		if ctx.Err() != nil {
			break
		}
		logf("section %s: %s", s.name, s.desc)
		sctx, cancel := context.WithTimeout(ctx, s.timeout)
		start, nz := time.Now(), startNoise()
		got, err := s.run(sctx, b)
		cancel()
		rows = append(rows, got...)
		other := nz.cores()
		rows = append(rows, result{"(" + s.name + ": other processes' CPU)", fmt.Sprintf("%.2f cores on average", other),
			"machine busy time from /proc/stat minus this bench and its servers, over the section: load from other work"})
		if err != nil {
			failed = true
			logf("section %s FAILED: %v", s.name, err)
			rows = append(rows, result{"**" + s.name + " FAILED**", strings.ReplaceAll(err.Error(), "\n", " "), ""})
		}
		logf("section %s done in %s (other processes used %.2f cores)", s.name, time.Since(start).Round(time.Second), other)
	}
	return rows, failed
}

func render(b *bench, rows []result) string {
	var sb strings.Builder
	host, _ := os.Hostname()
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil && len(strings.Fields(string(b))) >= 3 {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Fprintf(&sb, "skiff apiserver benchmark, %s, host %s, %d CPUs, %s, %s, binary %s, load average at the end %s\n\n",
		time.Now().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH,
		runtime.Version(), b.name+" (sha256 "+b.sum+")", load)
	sb.WriteString("| figure | value | how measured |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", cell(r.figure), cell(r.value), cell(r.how))
	}
	return sb.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
