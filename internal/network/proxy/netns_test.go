package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Helpers for the root tests: throwaway network namespaces named
// skiffproxytest-<random>-<role>, deleted (with every link in them) when
// the test ends.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, nftables)")
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("needs %s: %v", bin, err)
		}
	}
}

// testNS is a named network namespace and an open descriptor of it.
type testNS struct {
	name string
	fd   int
}

// runID keeps one test binary's namespaces apart from another's.
var runID = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

func newNS(t *testing.T, role string) *testNS {
	t.Helper()
	name := "skiffproxytest-" + runID + "-" + role
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete netns %s: %v: %s", name, err, out)
		}
	})
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	ns := &testNS{name: name, fd: fd}
	ns.run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// run runs a command inside the namespace.
func (n *testNS) run(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, append([]string{"ip", "netns", "exec", n.name}, args...)...)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testLog logs through t.Log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// nftTable is the part of `nft -j list table` the tests read.
type nftTable struct {
	Chains map[string]nftChain
	Rules  map[string][]nftRule // by chain
	Sets   map[string]nftSet
}

type nftChain struct {
	Name   string `json:"name"`
	Handle int    `json:"handle"`
	Hook   string `json:"hook"`
}

type nftRule struct {
	Chain  string            `json:"chain"`
	Handle int               `json:"handle"`
	Expr   []json.RawMessage `json:"expr"`
}

type nftSet struct {
	Name    string            `json:"name"`
	Type    json.RawMessage   `json:"type"`
	Map     json.RawMessage   `json:"map"`
	Elem    []json.RawMessage `json:"elem"`
	Flags   []string          `json:"flags"`
	Timeout int               `json:"timeout"`
}

// listTable reads a table with nft -j; ok is false if it does not exist.
func (n *testNS) listTable(t *testing.T, table string) (nftTable, bool) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", n.name, "nft", "-j", "list", "table", "ip", table).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No such file") {
			return nftTable{}, false
		}
		t.Fatalf("nft list table: %v: %s", err, out)
	}
	var doc struct {
		Nftables []map[string]json.RawMessage `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("decode nft -j: %v", err)
	}
	tab := nftTable{Chains: map[string]nftChain{}, Rules: map[string][]nftRule{}, Sets: map[string]nftSet{}}
	for _, obj := range doc.Nftables {
		for kind, raw := range obj {
			switch kind {
			case "chain":
				var c nftChain
				mustJSON(t, raw, &c)
				tab.Chains[c.Name] = c
			case "rule":
				var r nftRule
				mustJSON(t, raw, &r)
				tab.Rules[r.Chain] = append(tab.Rules[r.Chain], r)
			case "set", "map":
				var s nftSet
				mustJSON(t, raw, &s)
				tab.Sets[s.Name] = s
			}
		}
	}
	return tab, true
}

func mustJSON(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
