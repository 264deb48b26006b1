package dns

import (
	"net/netip"
	"strings"
)

// cutLastLabel splits "a.b.c" into "a.b" and "c". It does not allocate:
// both results are substrings of name.
func cutLastLabel(name string) (rest, last string) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// dashedIP is the label CoreDNS gives an endpoint without a hostname and
// a pod: the address with its separators turned into dashes
// (10.42.0.5 -> 10-42-0-5, fd00::5 -> fd00--5). A label may not start or
// end with a dash, so a leading or trailing "::" gets a zero.
func dashedIP(ip netip.Addr) string {
	if ip.Is4() || ip.Is4In6() {
		return strings.ReplaceAll(ip.Unmap().String(), ".", "-")
	}
	s := strings.ReplaceAll(ip.String(), ":", "-")
	if strings.HasPrefix(s, "-") {
		s = "0" + s
	}
	if strings.HasSuffix(s, "-") {
		s += "0"
	}
	return s
}

// parseDashedIP is the inverse of dashedIP. It accepts exactly four
// dash-separated parts for IPv4; anything else is tried as IPv6.
func parseDashedIP(label string) (netip.Addr, bool) {
	if label == "" || len(label) > 63 {
		return netip.Addr{}, false
	}
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
		if err == nil && ip.Is4() {
			return ip, true
		}
	}
	if !strings.Contains(label, "--") && strings.Count(label, "-") != 7 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	if err != nil || !ip.Is6() || ip.Is4In6() || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip, true
}

const (
	v4ReverseSuffix = ".in-addr.arpa."
	v6ReverseSuffix = ".ip6.arpa."
)

// parseReverse reads the address out of a full PTR name
// ("4.3.2.1.in-addr.arpa." or 32 nibbles under "ip6.arpa."). The name must
// be lower case.
func parseReverse(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, v4ReverseSuffix); ok {
		return parseReverse4(rest)
	}
	if rest, ok := strings.CutSuffix(name, v6ReverseSuffix); ok {
		return parseReverse6(rest)
	}
	return netip.Addr{}, false
}

func parseReverse4(rest string) (netip.Addr, bool) {
	var b [4]byte
	for i := 3; i >= 0; i-- {
		var label string
		if i == 0 {
			label, rest = rest, ""
		} else {
			var found bool
			label, rest, found = strings.Cut(rest, ".")
			if !found {
				return netip.Addr{}, false
			}
		}
		n, ok := decimalOctet(label)
		if !ok {
			return netip.Addr{}, false
		}
		b[i] = n
	}
	return netip.AddrFrom4(b), true
}

// decimalOctet parses 0..255 without leading zeros, as in-addr.arpa
// labels are written.
func decimalOctet(s string) (byte, bool) {
	if s == "" || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return byte(n), n <= 255
}

func parseReverse6(rest string) (netip.Addr, bool) {
	// 32 nibbles, each one hex digit followed by a dot but the last.
	if len(rest) != 63 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := 0; i < 32; i++ {
		c := rest[i*2]
		if i < 31 && rest[i*2+1] != '.' {
			return netip.Addr{}, false
		}
		v, ok := hexNibble(c)
		if !ok {
			return netip.Addr{}, false
		}
		// Nibble i counts from the least significant end.
		pos := 31 - i
		if pos%2 == 0 {
			b[pos/2] |= v << 4
		} else {
			b[pos/2] |= v
		}
	}
	return netip.AddrFrom16(b), true
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
