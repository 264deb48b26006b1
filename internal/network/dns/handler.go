package dns

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxUDPSize caps the EDNS0 buffer size a client may ask for; larger
// answers get TC and the client retries over TCP.
const maxUDPSize = 4096

// ServeDNS answers one query: names under the cluster domain and PTRs of
// cluster addresses from the index, everything else through the
// upstreams.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := s.handle(r, w.RemoteAddr())
	if m == nil {
		return
	}
	fit(m, r, w)
	_ = w.WriteMsg(m) // the client is gone; nothing to do
}

func (s *Server) handle(r *dns.Msg, client net.Addr) *dns.Msg {
	switch {
	case len(r.Question) != 1:
		return s.fail(r, dns.RcodeFormatError)
	case r.Opcode != dns.OpcodeQuery:
		return s.fail(r, dns.RcodeNotImplemented)
	}
	if opt := r.IsEdns0(); opt != nil && opt.Version() != 0 {
		return s.fail(r, dns.RcodeBadVers)
	}
	q := r.Question[0]
	if q.Qclass != dns.ClassINET {
		return s.fail(r, dns.RcodeRefused)
	}
	name := strings.ToLower(q.Name)
	if rel, ok := s.inZone(name); ok {
		if !s.waitSynced() {
			return s.fail(r, dns.RcodeServerFailure)
		}
		m := s.reply(r)
		s.answerZone(m, q, rel)
		return m
	}
	if q.Qtype == dns.TypePTR {
		if m := s.answerPTR(r, q, name); m != nil {
			return m
		}
	}
	if !s.recursion.allowed(client) {
		return s.fail(r, dns.RcodeRefused)
	}
	return s.forward(r)
}

// inZone reports whether name is the cluster domain or under it, and the
// part before the domain.
func (s *Server) inZone(name string) (string, bool) {
	if name == s.zone {
		return "", true
	}
	if rel, ok := strings.CutSuffix(name, s.suffix); ok {
		if strings.IndexByte(rel, '\\') >= 0 {
			// An escaped dot or byte; no cluster name has one, and a
			// label split would misread it.
			return "\\", true
		}
		return rel, true
	}
	return "", false
}

// answerPTR answers a reverse query for a cluster IP or a headless
// endpoint; nil lets the query go upstream.
func (s *Server) answerPTR(r *dns.Msg, q dns.Question, name string) *dns.Msg {
	ip, ok := parseReverse(name)
	if !ok || !s.waitSynced() {
		return nil
	}
	names := s.ix.reverse(ip)
	if len(names) == 0 {
		return nil
	}
	m := s.reply(r)
	m.Authoritative = true
	for _, n := range names {
		m.Answer = append(m.Answer, &dns.PTR{Hdr: s.hdr(q.Name, dns.TypePTR), Ptr: n})
	}
	return m
}

func (s *Server) forward(r *dns.Msg) *dns.Msg {
	resp, err := s.fwd.forward(s.life, r)
	if err != nil {
		s.log.Debug("forward failed", "name", r.Question[0].Name, "err", err)
		return s.fail(r, dns.RcodeServerFailure)
	}
	resp.Id = r.Id
	return resp
}

// waitSynced reports whether the index is complete, waiting a little for
// the first sync.
func (s *Server) waitSynced() bool {
	if s.isSynced.Load() {
		return true
	}
	t := time.NewTimer(s.syncWait)
	defer t.Stop()
	select {
	case <-s.synced:
		return true
	case <-t.C:
	case <-s.life.Done():
	}
	return false
}

func (s *Server) reply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	return m
}

func (s *Server) fail(r *dns.Msg, rcode int) *dns.Msg {
	m := s.reply(r)
	m.Rcode = rcode
	if rcode == dns.RcodeBadVers {
		m.SetEdns0(maxUDPSize, false)
	}
	return m
}

// fit makes m fit what the client can take: 512 bytes over UDP without
// EDNS0, the advertised size (at most maxUDPSize) with it. A reply to an
// EDNS0 query carries our own OPT. TC is set only when answer or
// authority records had to go, not for dropped additional records
// (RFC 2181 section 9).
func fit(m, r *dns.Msg, w dns.ResponseWriter) {
	size := dns.MinMsgSize
	opt := r.IsEdns0()
	if opt != nil {
		size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		if m.IsEdns0() == nil {
			m.SetEdns0(maxUDPSize, false)
		}
	}
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
		size = dns.MaxMsgSize
	}
	answers, auth, tc := len(m.Answer), len(m.Ns), m.Truncated
	m.Truncate(size)
	if len(m.Answer) == answers && len(m.Ns) == auth {
		m.Truncated = tc
	}
}
