// Command testserver is the many-purpose static program in skiff's test
// image skiff.local/testserver:1 (entrypoint /testserver). Standard library
// only.
//
//	testserver [serve] [--port N]  HTTP server on --port, $PORT or 8080:
//	    GET /          JSON {hostname, remoteAddr, method, path, headers}
//	    GET /healthz   200 "ok"; 500 after /fail (until /recover) or while
//	                   /tmp/unhealthy ($UNHEALTHY_FILE) exists
//	    GET /fail, /recover
//	    GET /env       the environment, one NAME=value a line
//	    GET /file?path=P   the file's content
//	    GET /exit?code=N   answers, then exits with N
//	testserver exit CODE          exits with CODE
//	testserver sleep SECONDS      sleeps (exits 0 at once on SIGTERM)
//	testserver ignore-term SECONDS  sleeps, ignoring SIGTERM
//	testserver print-env          prints the environment
//	testserver cat FILE...        prints the files
//	testserver alloc MEBIBYTES    allocates and touches that much memory, then sleeps
//	testserver trap-term FILE     on SIGTERM appends "TERM <time>" to FILE, waits 1 s, exits 0
//	testserver write-loop FILE    appends a line to FILE every 100 ms
//	testserver get [--count N] [--interval D] URL   N GETs on new connections; prints
//	                   JSON {ok, failed, hosts: {hostname: count}}
//	testserver lookup [--type A|SRV] NAME   resolves NAME with resolv.conf
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && (len(args[0]) == 0 || args[0][0] != '-') {
		cmd, args = args[0], args[1:]
	}
	if err := run(cmd, args); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run(cmd string, args []string) error {
	switch cmd {
	case "serve":
		return serve(args)
	case "exit":
		code, err := intArg(args)
		if err != nil {
			return err
		}
		fmt.Printf("exit %d\n", code)
		os.Exit(code)
	case "sleep":
		return sleep(args, false)
	case "ignore-term":
		return sleep(args, true)
	case "print-env":
		printEnv(os.Stdout)
	case "cat":
		return cat(args)
	case "alloc":
		return alloc(args)
	case "trap-term":
		return trapTerm(args)
	case "write-loop":
		return writeLoop(args)
	case "get":
		return get(args)
	case "lookup":
		return lookup(args)
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func intArg(args []string) (int, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("want one number, have %q", args)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return 0, fmt.Errorf("not a number: %w", err)
	}
	return n, nil
}

func sleep(args []string, ignoreTerm bool) error {
	secs, err := strconv.ParseFloat(firstArg(args), 64)
	if err != nil {
		return fmt.Errorf("sleep: %w", err)
	}
	sigs := make(chan os.Signal, 1)
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	select {
	case <-time.After(time.Duration(secs * float64(time.Second))):
	case s := <-sigs:
		fmt.Printf("%v, exiting\n", s)
	}
	return nil
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func printEnv(w io.Writer) {
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Fprintln(w, kv)
	}
}

func cat(files []string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		os.Stdout.Write(b)
	}
	return nil
}

// alloc allocates and touches n MiB, 1 MiB at a time, then sleeps until
// SIGTERM.
func alloc(args []string) error {
	n, err := intArg(args)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	chunks := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		c := make([]byte, 1<<20)
		for j := 0; j < len(c); j += 4096 {
			c[j] = 1
		}
		chunks = append(chunks, c)
		if (i+1)%16 == 0 {
			fmt.Printf("allocated %d MiB\n", i+1)
		}
	}
	fmt.Printf("allocated %d MiB, sleeping\n", n)
	<-sigs
	runtime.KeepAlive(chunks)
	return nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func trapTerm(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("trap-term FILE")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	fmt.Println("waiting for SIGTERM")
	<-sigs
	if err := appendLine(args[0], "TERM "+time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	time.Sleep(time.Second)
	fmt.Println("exiting after SIGTERM")
	return nil
}

func writeLoop(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("write-loop FILE")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 1; ; i++ {
		if err := appendLine(args[0], fmt.Sprintf("%d %s", i, time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-sigs:
			return nil
		}
	}
}
