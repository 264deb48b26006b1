package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"time"
)

// getReport is what `testserver get` prints: how many requests succeeded,
// how many failed, and which hostnames answered how often.
type getReport struct {
	OK     int            `json:"ok"`
	Failed int            `json:"failed"`
	Hosts  map[string]int `json:"hosts"`
	Errors []string       `json:"errors,omitempty"`
}

// get sends --count GETs to a testserver URL, each on a new connection
// (a new load-balancing decision), and prints a getReport.
//
//	testserver get [--count N] [--interval D] [--timeout D] URL
func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	count := fs.Int("count", 1, "requests to send")
	interval := fs.Duration("interval", 0, "pause between requests")
	timeout := fs.Duration("timeout", 2*time.Second, "timeout of each request")
	echo := fs.Bool("echo", false, "print each answer's body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("get: want one URL")
	}
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	rep := getReport{Hosts: map[string]int{}}
	for i := 0; i < *count; i++ {
		if i > 0 && *interval > 0 {
			time.Sleep(*interval)
		}
		host, body, err := getOnce(client, fs.Arg(0))
		if *echo && err == nil {
			fmt.Printf("%s\n", body)
		}
		if err != nil {
			rep.Failed++
			if len(rep.Errors) < 5 {
				rep.Errors = append(rep.Errors, err.Error())
			}
			continue
		}
		rep.OK++
		rep.Hosts[host]++
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func getOnce(c *http.Client, url string) (string, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var echo struct {
		Hostname string `json:"hostname"`
	}
	// Answers other than the echo (/fail, /recover) have no hostname.
	_ = json.Unmarshal(body, &echo)
	return echo.Hostname, bytes.TrimSpace(body), nil
}

// lookup resolves a name with the pod's resolv.conf (Go's resolver:
// search path and ndots honoured) and prints the answers sorted, one a
// line; --type SRV prints "target port" lines.
//
//	testserver lookup [--type A|SRV] NAME
func lookup(args []string) error {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	typ := fs.String("type", "A", "A or SRV")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("lookup: want one name")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := &net.Resolver{PreferGo: true}
	var lines []string
	switch *typ {
	case "A":
		addrs, err := r.LookupHost(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		lines = addrs
	case "SRV":
		_, srvs, err := r.LookupSRV(ctx, "", "", fs.Arg(0))
		if err != nil {
			return err
		}
		for _, s := range srvs {
			lines = append(lines, fmt.Sprintf("%s %d", s.Target, s.Port))
		}
	default:
		return fmt.Errorf("lookup: unknown type %q", *typ)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	return nil
}
