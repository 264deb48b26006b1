package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// load is one closed-loop run: each worker has its own UDP socket and
// one query in flight.
type load struct {
	addr     string
	queries  []query
	workers  int
	duration time.Duration
	count    int64 // stop after this many queries in all (0: run for duration)
	timeout  time.Duration
}

// outcome sums up a run. Latencies are of answered queries only.
type outcome struct {
	sent, answered         int64
	timeouts, wrong, sendE int64
	firstWrong             string
	latencies              []time.Duration
	elapsed                time.Duration
}

func (o outcome) errors() int64 { return o.timeouts + o.wrong + o.sendE }

// run sends queries until the duration is over or count queries were
// sent, whichever comes first, or ctx ends.
func (l load) run(ctx context.Context) (outcome, error) {
	packed, err := packQueries(l.queries)
	if err != nil {
		return outcome{}, err
	}
	var budget atomic.Int64
	budget.Store(l.count)
	end := time.Now().Add(l.duration)
	results := make([]outcome, l.workers)
	conns := make([]net.Conn, l.workers)
	for i := range conns {
		if conns[i], err = net.Dial("udp", l.addr); err != nil {
			closeAll(conns)
			return outcome{}, err
		}
	}
	defer closeAll(conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[w] = l.worker(ctx, conns[w], w, packed, end, &budget)
		}()
	}
	wg.Wait()
	total := outcome{elapsed: time.Since(start)}
	for _, r := range results {
		total.sent += r.sent
		total.answered += r.answered
		total.timeouts += r.timeouts
		total.wrong += r.wrong
		total.sendE += r.sendE
		if total.firstWrong == "" {
			total.firstWrong = r.firstWrong
		}
		total.latencies = append(total.latencies, r.latencies...)
	}
	return total, nil
}

// worker walks the query list from its own offset, so workers ask
// different names at any moment.
func (l load) worker(ctx context.Context, conn net.Conn, w int, packed [][]byte, end time.Time, budget *atomic.Int64) outcome {
	var o outcome
	buf := make([]byte, 65535)
	msg := make([]byte, 0, 512)
	id := uint16(w << 10)
	idx := w * len(packed) / l.workers
	for ctx.Err() == nil && time.Now().Before(end) {
		if l.count > 0 && budget.Add(-1) < 0 {
			break
		}
		q := &l.queries[idx]
		msg = append(msg[:0], packed[idx]...)
		idx = (idx + 1) % len(packed)
		id++
		binary.BigEndian.PutUint16(msg, id)
		o.sent++
		sent := time.Now()
		if _, err := conn.Write(msg); err != nil {
			o.sendE++
			continue
		}
		n, err := readReply(conn, buf, id, sent.Add(l.timeout))
		if err != nil {
			o.timeouts++
			continue
		}
		o.latencies = append(o.latencies, time.Since(sent))
		if why := check(buf[:n], q); why != "" {
			o.wrong++
			if o.firstWrong == "" {
				o.firstWrong = q.name + ": " + why
			}
			continue
		}
		o.answered++
	}
	return o
}

// readReply reads until the reply with id arrives (skipping late replies
// to queries that timed out) or the deadline passes.
func readReply(conn net.Conn, buf []byte, id uint16, deadline time.Time) (int, error) {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return 0, err
		}
		if n >= 12 && binary.BigEndian.Uint16(buf) == id {
			return n, nil
		}
	}
}

// check reads the header only (the client must not be the bottleneck):
// rcode, TC, and the answer count.
func check(b []byte, q *query) string {
	rcode := int(b[3] & 0x0f)
	switch {
	case b[2]&0x80 == 0:
		return "not a response"
	case b[2]&0x02 != 0:
		return "truncated"
	case rcode != q.rcode:
		return fmt.Sprintf("rcode %s, want %s", dns.RcodeToString[rcode], dns.RcodeToString[q.rcode])
	case int(binary.BigEndian.Uint16(b[6:8])) < q.answers:
		return fmt.Sprintf("%d answers, want %d", binary.BigEndian.Uint16(b[6:8]), q.answers)
	}
	return ""
}

func packQueries(qs []query) ([][]byte, error) {
	if len(qs) == 0 {
		return nil, errors.New("no queries: check -names")
	}
	out := make([][]byte, len(qs))
	for i, q := range qs {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		b, err := m.Pack()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.name, err)
		}
		out[i] = b
	}
	return out, nil
}

// probe asks one query until it is answered, for up to timeout: the
// server is up.
func probe(addr string, q query, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	for {
		r, _, err := c.Exchange(m, addr)
		if err == nil && r.Rcode == q.rcode {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
			}
			return fmt.Errorf("%s not answering %s: %w", addr, q.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
