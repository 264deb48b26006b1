package dns

import (
	"math/rand/v2"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// schemaVersion is what dns-version.<domain> TXT answers: the version of
// the Kubernetes DNS-based service discovery specification implemented.
const schemaVersion = "1.1.0"

// lookup outcomes for a name under the cluster domain.
type found int

const (
	nxdomain found = iota // nothing at or below the name
	exists                // the name exists; n has its records (may be none)
)

// resolveZone finds the records of rel, a lower-case name under the
// cluster domain with the domain and its dot removed ("" is the apex).
// It returns nil with exists for names that exist but hold nothing
// (empty non-terminals such as svc.<domain> or <ns>.svc.<domain>).
func (s *Server) resolveZone(rel string) (*node, found) {
	if rel == "" {
		return nil, exists
	}
	rest, last := cutLastLabel(rel)
	switch last {
	case "svc":
		return s.resolveService(rest, rel == last)
	case "pod":
		return resolvePod(rest, rel == last)
	case "dns-version":
		if rel == last {
			return nil, exists // TXT only; answered by the caller
		}
	}
	return nil, nxdomain
}

// resolveService resolves [<sub>.]<svc>.<ns> under svc.<domain>.
func (s *Server) resolveService(rest string, bare bool) (*node, found) {
	if bare {
		return nil, exists // svc.<domain>
	}
	rest, ns := cutLastLabel(rest)
	if rest == "" && ns != "" {
		if s.ix.hasNamespace(ns) {
			return nil, exists
		}
		return nil, nxdomain
	}
	sub, name := cutLastLabel(rest)
	e := s.ix.service(svcKey{ns: ns, name: name})
	if e == nil {
		return nil, nxdomain
	}
	if n := e.names[sub]; n != nil {
		return n, exists
	}
	return nil, nxdomain
}

// resolvePod answers <a-b-c-d>.<ns>.pod.<domain> with the address the
// name spells, for any namespace, as CoreDNS's "pods insecure" does.
func resolvePod(rest string, bare bool) (*node, found) {
	if bare {
		return nil, exists
	}
	label, ns := cutLastLabel(rest)
	if label == "" {
		return nil, exists // <ns>.pod.<domain>
	}
	if ns == "" || strings.IndexByte(label, '.') >= 0 {
		return nil, nxdomain
	}
	ip, ok := parseDashedIP(label)
	if !ok {
		return nil, nxdomain
	}
	n := &node{}
	n.add(ip)
	return n, exists
}

// answerZone fills m, already a reply to q, for a name under the cluster
// domain.
func (s *Server) answerZone(m *dns.Msg, q dns.Question, rel string) {
	m.Authoritative = true
	n, f := s.resolveZone(rel)
	if f == nxdomain {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{s.soa()}
		return
	}
	switch {
	case rel == "" && (q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY):
		m.Answer = []dns.RR{s.soa()}
	case rel == "dns-version" && (q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY):
		m.Answer = []dns.RR{&dns.TXT{Hdr: s.hdr(q.Name, dns.TypeTXT), Txt: []string{schemaVersion}}}
	case n != nil:
		s.records(m, q, n)
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{s.soa()}
	}
}

// records adds the records of n that answer q.
func (s *Server) records(m *dns.Msg, q dns.Question, n *node) {
	if n.cname != "" {
		// A name with a CNAME has no other data: every type gets it.
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: s.hdr(q.Name, dns.TypeCNAME), Target: n.cname})
		if q.Qtype != dns.TypeCNAME && q.Qtype != dns.TypeANY {
			s.chase(m, q.Qtype, n.cname)
		}
		return
	}
	switch q.Qtype {
	case dns.TypeA:
		m.Answer = s.addrs(m.Answer, q.Name, n.v4, nil, true)
	case dns.TypeAAAA:
		m.Answer = s.addrs(m.Answer, q.Name, nil, n.v6, true)
	case dns.TypeSRV:
		s.srv(m, q.Name, n.srv)
	case dns.TypeANY:
		m.Answer = s.addrs(m.Answer, q.Name, n.v4, n.v6, false)
		s.srv(m, q.Name, n.srv)
	}
}

// maxChase bounds a chain of ExternalName services pointing at each
// other.
const maxChase = 8

// chase follows an ExternalName's CNAME as a recursive resolver would,
// because stub resolvers (glibc, musl) do not: a target in the cluster
// domain from the index, any other through the upstreams. If that fails
// the answer is the bare CNAME, which is still correct.
func (s *Server) chase(m *dns.Msg, qtype uint16, target string) {
	for range maxChase {
		rel, ok := s.inZone(target)
		if !ok {
			s.chaseUpstream(m, qtype, target)
			return
		}
		n, f := s.resolveZone(rel)
		switch {
		case f == nxdomain:
			m.Rcode = dns.RcodeNameError
			return
		case n == nil:
			return
		case n.cname == "":
			s.records(m, dns.Question{Name: target, Qtype: qtype, Qclass: dns.ClassINET}, n)
			return
		}
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: s.hdr(target, dns.TypeCNAME), Target: n.cname})
		target = n.cname
	}
}

func (s *Server) chaseUpstream(m *dns.Msg, qtype uint16, target string) {
	q := new(dns.Msg)
	q.SetQuestion(target, qtype)
	resp, err := s.fwd.forward(s.life, q)
	if err != nil {
		s.log.Debug("following ExternalName failed", "target", target, "err", err)
		return
	}
	m.Answer = append(m.Answer, resp.Answer...)
	if resp.Rcode == dns.RcodeNameError {
		m.Rcode = dns.RcodeNameError
	}
}

// addrs appends A and AAAA records; with rotate the list starts at a
// random record, spreading clients over endpoints as CoreDNS's
// loadbalance plugin does.
func (s *Server) addrs(rrs []dns.RR, name string, v4, v6 []net.IP, rotate bool) []dns.RR {
	start4, start6 := 0, 0
	if rotate {
		start4, start6 = randStart(len(v4)), randStart(len(v6))
	}
	for i := range v4 {
		ip := v4[(start4+i)%len(v4)]
		rrs = append(rrs, &dns.A{Hdr: s.hdr(name, dns.TypeA), A: ip})
	}
	for i := range v6 {
		ip := v6[(start6+i)%len(v6)]
		rrs = append(rrs, &dns.AAAA{Hdr: s.hdr(name, dns.TypeAAAA), AAAA: ip})
	}
	return rrs
}

// srv appends the SRV records with their targets' addresses in the
// additional section. The weights share 100 between the records, as
// CoreDNS does.
func (s *Server) srv(m *dns.Msg, name string, recs []srvRec) {
	if len(recs) == 0 {
		return
	}
	weight := uint16(100 / len(recs))
	if weight == 0 {
		weight = 1
	}
	start := randStart(len(recs))
	// Records are sorted by target, so one target's ports are adjacent,
	// except that the rotation may split the first target's run.
	first := recs[start].host
	var last *node
	for i := range recs {
		r := recs[(start+i)%len(recs)]
		m.Answer = append(m.Answer, &dns.SRV{Hdr: s.hdr(name, dns.TypeSRV), Weight: weight, Port: r.port, Target: r.target})
		if r.host != last && (i == 0 || r.host != first) {
			m.Extra = s.addrs(m.Extra, r.target, r.host.v4, r.host.v6, false)
		}
		last = r.host
	}
}

// randStart picks where a rotated list of n records starts.
func randStart(n int) int {
	if n < 2 {
		return 0
	}
	return rand.IntN(n)
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.ttl}
}

// soa is the cluster domain's SOA, for the authority section of negative
// answers; its minimum (the negative TTL) is the record TTL.
func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr:     s.hdr(s.zone, dns.TypeSOA),
		Ns:      "ns.dns." + s.zone,
		Mbox:    "hostmaster." + s.zone,
		Serial:  s.ix.serial.Load(),
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  s.ttl,
	}
}
