package dns

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

func TestDashedIP(t *testing.T) {
	tests := []struct{ ip, label string }{
		{"10.42.0.5", "10-42-0-5"},
		{"::ffff:10.42.0.5", "10-42-0-5"},
		{"fd00:42::5", "fd00-42--5"},
		{"::1", "0--1"},
		{"fd00::", "fd00--0"},
		{"2001:db8:1:2:3:4:5:6", "2001-db8-1-2-3-4-5-6"},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := dashedIP(ip); got != tt.label {
			t.Errorf("dashedIP(%s) = %q, want %q", tt.ip, got, tt.label)
		}
		back, ok := parseDashedIP(tt.label)
		if !ok || back != ip.Unmap() {
			t.Errorf("parseDashedIP(%q) = %v %v, want %v", tt.label, back, ok, ip.Unmap())
		}
	}
	for _, bad := range []string{"", "10-42-0", "10-42-0-256", "a-b-c-d", "10.42.0.5", "1-2-3-4-5", "fd00-42-5", "web-0", "0--1%eth0"} {
		if ip, ok := parseDashedIP(bad); ok {
			t.Errorf("parseDashedIP(%q) = %v, want no address", bad, ip)
		}
	}
}

func TestParseReverse(t *testing.T) {
	for _, s := range []string{"10.43.0.20", "0.0.0.0", "255.255.255.255", "fd00:43::31", "::", "2001:db8:ffff::1"} {
		name := mustReverse(s)
		ip, ok := parseReverse(name)
		if !ok || ip != netip.MustParseAddr(s) {
			t.Errorf("parseReverse(%q) = %v %v, want %s", name, ip, ok, s)
		}
	}
	for _, bad := range []string{"43.10.in-addr.arpa.", "1.2.3.4.5.in-addr.arpa.", "256.0.43.10.in-addr.arpa.", "01.0.43.10.in-addr.arpa.",
		"x.0.43.10.in-addr.arpa.", "in-addr.arpa.", "1.0.0.ip6.arpa.", "example.com.",
		"G.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."} {
		if ip, ok := parseReverse(bad); ok {
			t.Errorf("parseReverse(%q) = %v, want no address", bad, ip)
		}
	}
}

func FuzzParseReverse(f *testing.F) {
	f.Add(mustReverse("10.43.0.20"))
	f.Add(mustReverse("fd00:43::31"))
	f.Add("1.2.in-addr.arpa.")
	f.Fuzz(func(t *testing.T, name string) {
		ip, ok := parseReverse(name)
		if !ok {
			return
		}
		if want := mustReverse(ip.String()); want != name {
			t.Errorf("parseReverse(%q) = %v, which reverses to %q", name, ip, want)
		}
	})
}

func FuzzParseDashedIP(f *testing.F) {
	for _, s := range []string{"10-42-0-5", "fd00-42--5", "0--1", "1-2-3", "--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, label string) {
		ip, ok := parseDashedIP(label)
		if !ok {
			return
		}
		if back, ok := parseDashedIP(dashedIP(ip)); !ok || back != ip {
			t.Errorf("%q -> %v -> %q -> %v %v", label, ip, dashedIP(ip), back, ok)
		}
	})
}

// FuzzResolveZone: any name under the domain resolves without a panic,
// and a name the index has comes back with its records.
func FuzzResolveZone(f *testing.F) {
	s := &Server{ix: newIndex(), zone: "cluster.local.", suffix: ".cluster.local."}
	w := newWatcher(s.ix, s.zone)
	for _, obj := range cluster() {
		w.serviceChanged(obj, false) // each ignores the other kind
		w.sliceChanged(obj, false)
	}
	if n, _ := s.resolveZone("db-0.db.default.svc"); n == nil || len(n.v4) != 1 {
		f.Fatalf("fixture not indexed: %v", n)
	}
	for _, seed := range []string{"web.default.svc", "_http._tcp.web.default.svc", "db-0.db.default.svc", "10-42-0-1.ns.pod", "a..b", ".svc", "svc", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		n, found := s.resolveZone(rel)
		if found == nxdomain && n != nil {
			t.Errorf("%q: NXDOMAIN with records", rel)
		}
	})
}

func TestConfigDefaults(t *testing.T) {
	client := fake.NewClientset()
	tests := []struct {
		name string
		cfg  Config
		err  error
	}{
		{"no client", Config{Addr: ":0"}, ErrConfig},
		{"no address", Config{Client: client}, ErrConfig},
		{"bad domain", Config{Client: client, Addr: ":0", Domain: "a..b"}, ErrConfig},
		{"escaped domain", Config{Client: client, Addr: ":0", Domain: `a\.b`}, ErrConfig},
		{"ok", Config{Client: client, Addr: ":0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.cfg.withDefaults()
			if !errors.Is(err, tt.err) {
				t.Fatalf("withDefaults: %v, want %v", err, tt.err)
			}
			if err == nil && (c.Domain != "cluster.local" || c.TTL != 5 || c.ResolvConf != "/etc/resolv.conf" || c.Log == nil || c.ForwardTimeout <= 0) {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

// TestUpstreamsFromResolvConf reads a resolv.conf the test writes; no
// query is sent.
func TestUpstreamsFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "search example.org\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:2\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Config{ResolvConf: path}.upstreams()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.53:53", "[2001:db8::53]:53"}; !slices.Equal(got, want) {
		t.Errorf("upstreams %q, want %q", got, want)
	}
	if _, err := (Config{ResolvConf: filepath.Join(t.TempDir(), "missing")}).upstreams(); !errors.Is(err, ErrResolvConf) {
		t.Errorf("missing resolv.conf: %v, want ErrResolvConf", err)
	}
	got, err = Config{Upstreams: []string{"192.0.2.1", "192.0.2.2:5353", "[2001:db8::1]", "2001:db8::2"}}.upstreams()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.1:53", "192.0.2.2:5353", "[2001:db8::1]:53", "[2001:db8::2]:53"}; !slices.Equal(got, want) {
		t.Errorf("upstreams %q, want %q", got, want)
	}
}

func TestWithoutSelf(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:1053")
	got := withoutSelf([]string{"127.0.0.1:1053", "127.0.0.1:53", "192.0.2.1:1053"}, self)
	if want := []string{"127.0.0.1:53", "192.0.2.1:1053"}; !slices.Equal(got, want) {
		t.Errorf("withoutSelf = %q, want %q", got, want)
	}
	wild := netip.MustParseAddrPort("0.0.0.0:1053")
	if got := withoutSelf([]string{"127.0.0.1:1053", "192.0.2.1:53"}, wild); !slices.Equal(got, []string{"192.0.2.1:53"}) {
		t.Errorf("withoutSelf(wildcard) = %q", got)
	}
}
