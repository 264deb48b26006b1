package dns

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// forwarder sends queries for names outside the cluster to the upstream
// resolvers: UDP first, TCP when the answer comes back truncated, the
// next upstream when one fails.
type forwarder struct {
	upstreams []string
	timeout   time.Duration
	udp, tcp  *dns.Client
	// preferred is the upstream that answered last; queries start there
	// so a dead first upstream costs one timeout, not one per query.
	preferred atomic.Uint32
}

func newForwarder(upstreams []string, timeout time.Duration) *forwarder {
	return &forwarder{
		upstreams: upstreams,
		timeout:   timeout,
		udp:       &dns.Client{Net: "udp", Timeout: timeout, UDPSize: maxUDPSize},
		tcp:       &dns.Client{Net: "tcp", Timeout: timeout},
	}
}

// forward returns the first usable answer. SERVFAIL and REFUSED count as
// failures worth another upstream, but when every upstream says so the
// last of them is the answer.
func (f *forwarder) forward(ctx context.Context, r *dns.Msg) (*dns.Msg, error) {
	n := len(f.upstreams)
	if n == 0 {
		return nil, errNoUpstream
	}
	q := *r // shallow copy: a fresh ID, the client's question and EDNS0
	q.Id = dns.Id()
	start := int(f.preferred.Load())
	var last *dns.Msg
	var lastErr error
	for i := range n {
		idx := (start + i) % n
		resp, err := f.exchange(ctx, &q, f.upstreams[idx])
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused {
			last = resp
			continue
		}
		f.preferred.Store(uint32(idx))
		return resp, nil
	}
	if last != nil {
		return last, nil
	}
	return nil, fmt.Errorf("%w: %w", errNoUpstream, lastErr)
}

// exchange asks one upstream, over TCP again if UDP came back truncated.
func (f *forwarder) exchange(ctx context.Context, q *dns.Msg, addr string) (*dns.Msg, error) {
	resp, err := f.once(ctx, f.udp, q, addr)
	if err == nil && resp.Truncated {
		resp, err = f.once(ctx, f.tcp, q, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", addr, err)
	}
	return resp, nil
}

func (f *forwarder) once(ctx context.Context, c *dns.Client, q *dns.Msg, addr string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	resp, _, err := c.ExchangeContext(ctx, q, addr)
	if err != nil {
		return nil, err
	}
	if len(resp.Question) != 1 || !sameQuestion(resp.Question[0], q.Question[0]) {
		return nil, errMismatch
	}
	return resp, nil
}

func sameQuestion(a, b dns.Question) bool {
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}
