package benchutil

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Result is one row of the table.
type Result struct {
	Figure, Value, How string
}

// Section is one independent measurement with its own server; B is what
// the command gives every section.
type Section[B any] struct {
	Name string
	Desc string
	Run  func(ctx context.Context, b B) ([]Result, error)
	// Timeout bounds the whole section.
	Timeout time.Duration
}

// Accounting is the CPU time of the bench's own processes (the bench and
// what it started), which the "other processes' CPU" row leaves out.
type Accounting struct {
	// CPU returns the CPU time used so far; only differences count.
	CPU func() time.Duration
	// What names it in the row, e.g. "this bench and its servers".
	What string
}

// Logf writes a time-stamped progress line to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// SectionNames lists the sections' names, comma-separated.
func SectionNames[B any](sections []Section[B]) string {
	var names []string
	for _, s := range sections {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// Choose returns the sections named in only (comma-separated), or all of
// them if only is empty.
func Choose[B any](sections []Section[B], only string) ([]Section[B], error) {
	if only == "" {
		return sections, nil
	}
	var out []Section[B]
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, s := range sections {
			if s.Name == strings.TrimSpace(name) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown section %q (have %s)", name, SectionNames(sections))
		}
	}
	return out, nil
}

// RunAll runs the sections one after the other; a failed section adds a
// FAILED row and the others still run. After each section a row gives the
// CPU other processes used meanwhile.
func RunAll[B any](ctx context.Context, b B, chosen []Section[B], acct Accounting) ([]Result, bool) {
	var rows []Result
	failed := false
	for _, s := range chosen {
		if ctx.Err() != nil {
			break
		}
		Logf("section %s: %s", s.Name, s.Desc)
		sctx, cancel := context.WithTimeout(ctx, s.Timeout)
		start, nz := time.Now(), StartNoise(acct.CPU)
		got, err := s.Run(sctx, b)
		cancel()
		rows = append(rows, got...)
		other := nz.Cores()
		rows = append(rows, Result{"(" + s.Name + ": other processes' CPU)", fmt.Sprintf("%.2f cores on average", other),
			"machine busy time from /proc/stat minus " + acct.What + ", over the section: load from other work"})
		if err != nil {
			failed = true
			Logf("section %s FAILED: %v", s.Name, err)
			rows = append(rows, Result{"**" + s.Name + " FAILED**", strings.ReplaceAll(err.Error(), "\n", " "), ""})
		}
		Logf("section %s done in %s (other processes used %.2f cores)", s.Name, time.Since(start).Round(time.Second), other)
	}
	return rows, failed
}

// Render formats the rows as a markdown table under a header line that
// starts with title and names the binary.
func Render(title, binary string, rows []Result) string {
	var sb strings.Builder
	host, _ := os.Hostname()
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil && len(strings.Fields(string(b))) >= 3 {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	fmt.Fprintf(&sb, "%s, %s, host %s, %d CPUs, %s, %s, binary %s, load average at the end %s\n\n",
		title, time.Now().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH,
		runtime.Version(), binary, load)
	sb.WriteString("| figure | value | how measured |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s |\n", cell(r.Figure), cell(r.Value), cell(r.How))
	}
	return sb.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Publish prints the table of rows, also writes it to out unless out is
// empty, and reports whether the run succeeded (no section failed and the
// file was written).
func Publish(title, binary string, rows []Result, out string, failed bool) bool {
	table := Render(title, binary, rows)
	fmt.Print(table)
	if out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(os.Stderr, "FAILED: some sections failed; see the table")
	}
	return !failed
}
