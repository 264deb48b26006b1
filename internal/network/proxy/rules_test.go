package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// Root tests that read the table back with nft -j.

func newTestSyncer(t *testing.T, ns *testNS) *Syncer {
	t.Helper()
	_, cidr, _ := net.ParseCIDR("10.42.0.0/16")
	s, err := NewSyncer(Config{NetNS: ns.fd, ClusterCIDR: cidr, NodeName: "node1", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustSync(t *testing.T, s *Syncer) SyncStats {
	t.Helper()
	st, err := s.Sync()
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return st
}

// numbered is Service i of a set: cluster IP 10.43.1.i, n endpoints
// 10.42.i.j (from first), port http 80 -> 8080.
func numbered(i, first, n int) (*v1.Service, []*discoveryv1.EndpointSlice) {
	name := fmt.Sprintf("s%d", i)
	svc := svcOf("default", name, fmt.Sprintf("10.43.1.%d", i), tcp("http", 80))
	var eps []discoveryv1.Endpoint
	for j := first; j < first+n; j++ {
		eps = append(eps, ready(fmt.Sprintf("10.42.%d.%d", i, j)))
	}
	return svc, slicesOf(sliceOf("default", name, name+"-1", slicePorts(epPort("http", 8080, v1.ProtocolTCP)), eps...))
}

// handles maps every rule of the table to its handle.
func handles(tab nftTable) map[string][]int {
	out := map[string][]int{}
	for chain, rules := range tab.Rules {
		for _, r := range rules {
			out[chain] = append(out[chain], r.Handle)
		}
	}
	return out
}

func TestFullSyncReplacesTheTable(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "replace")
	ns.run(t, "nft", "add table ip skiff; add chain ip skiff junk; add table ip other; add chain ip other keep")
	s := newTestSyncer(t, ns)
	s.SetService(numbered(1, 1, 2))
	if st := mustSync(t, s); !st.Full || st.Services != 1 {
		t.Errorf("first sync = %+v, want a full sync of one service", st)
	}
	tab, _ := ns.listTable(t, "skiff")
	if _, ok := tab.Chains["junk"]; ok {
		t.Errorf("the old table's chain survived")
	}
	if _, ok := tab.Chains["svc-default/s1/http"]; !ok {
		t.Errorf("no service chain; chains %v", keys(tab.Chains))
	}
	if other, ok := ns.listTable(t, "other"); !ok || len(other.Chains) != 1 {
		t.Errorf("table other = %+v, %v; want it untouched", other, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := ns.listTable(t, "skiff"); ok {
		t.Errorf("Close left the table")
	}
}

func TestIncrementalSyncRewritesOnlyChanges(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "incr")
	s := newTestSyncer(t, ns)
	for i := 1; i <= 50; i++ {
		s.SetService(numbered(i, 1, 3))
	}
	mustSync(t, s)
	before, _ := ns.listTable(t, "skiff")

	// Same number of endpoints: only map elements change.
	s.SetService(numbered(7, 2, 3))
	st := mustSync(t, s)
	if st.Full || st.Services != 1 || st.Messages > 6 {
		t.Errorf("endpoint swap = %+v, want one service in a few messages", st)
	}
	after, _ := ns.listTable(t, "skiff")
	if !maps.EqualFunc(handles(before), handles(after), slices.Equal) {
		t.Errorf("an endpoint swap rewrote rules")
	}
	if !hasHairpin(after, "10.42.7.4") || hasHairpin(after, "10.42.7.1") {
		t.Errorf("hairpin set not updated: %s", after.Sets["hairpin"].Elem)
	}

	// One more endpoint: that chain's rules are rewritten, no other.
	s.SetService(numbered(7, 2, 4))
	mustSync(t, s)
	again, _ := ns.listTable(t, "skiff")
	hb, ha := handles(after), handles(again)
	for chain := range hb {
		changed := !slices.Equal(hb[chain], ha[chain])
		if changed != (chain == "svc-default/s7/http") {
			t.Errorf("chain %s: rules %v -> %v", chain, hb[chain], ha[chain])
		}
	}

	// Nothing staged, nothing sent.
	s.SetService(numbered(7, 2, 4))
	if st := mustSync(t, s); st.Messages != 0 {
		t.Errorf("a no-op change sent %d messages", st.Messages)
	}

	s.DeleteService("default", "s7")
	mustSync(t, s)
	gone, _ := ns.listTable(t, "skiff")
	if _, ok := gone.Chains["svc-default/s7/http"]; ok || len(gone.Sets["service-ips"].Elem) != 49 || hasHairpin(gone, "10.42.7.2") {
		t.Errorf("deleted service left rules behind")
	}
}

func TestAffinityObjects(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "aff")
	s := newTestSyncer(t, ns)
	svc, sl := numbered(1, 1, 3)
	svc.Spec.SessionAffinity = v1.ServiceAffinityClientIP
	svc.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
	s.SetService(svc, sl)
	mustSync(t, s)
	tab, _ := ns.listTable(t, "skiff")
	for j := 1; j <= 3; j++ {
		suffix := fmt.Sprintf("default/s1/http/10.42.1.%d/8080", j)
		if _, ok := tab.Chains["ep-"+suffix]; !ok {
			t.Errorf("no endpoint chain for %s", suffix)
		}
		if set, ok := tab.Sets["aff-"+suffix]; !ok || !slices.Contains(set.Flags, "timeout") {
			t.Errorf("affinity set for %s = %+v", suffix, set)
		}
	}

	// An endpoint goes: its chain and set go with it; the others stay.
	_, sl = numbered(1, 2, 2)
	s.SetService(svc, sl)
	mustSync(t, s)
	tab, _ = ns.listTable(t, "skiff")
	if _, ok := tab.Sets["aff-default/s1/http/10.42.1.1/8080"]; ok {
		t.Errorf("the removed endpoint's affinity set is still there")
	}
	if _, ok := tab.Sets["aff-default/s1/http/10.42.1.2/8080"]; !ok {
		t.Errorf("a remaining endpoint's affinity set is gone")
	}

	// A new timeout replaces the sets.
	svc.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds = ptr.To[int32](120)
	s.SetService(svc, sl)
	mustSync(t, s)
	out := ns.run(t, "nft", "list", "set", "ip", "skiff", "aff-default/s1/http/10.42.1.2/8080")
	if !strings.Contains(out, "timeout 2m") {
		t.Errorf("affinity set after a timeout change:\n%s", out)
	}

	// Affinity off: no endpoint chains or sets left.
	svc.Spec.SessionAffinity = v1.ServiceAffinityNone
	s.SetService(svc, sl)
	mustSync(t, s)
	tab, _ = ns.listTable(t, "skiff")
	for name := range tab.Chains {
		if strings.HasPrefix(name, "ep-") {
			t.Errorf("chain %s left after affinity was turned off", name)
		}
	}
	for name := range tab.Sets {
		if strings.HasPrefix(name, "aff-") {
			t.Errorf("set %s left after affinity was turned off", name)
		}
	}
}

func TestContendedExternalIP(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "contend")
	s := newTestSyncer(t, ns)
	a, asl := numbered(1, 1, 1)
	b, bsl := numbered(2, 1, 1)
	a.Spec.ExternalIPs = []string{"192.0.2.1"}
	b.Spec.ExternalIPs = []string{"192.0.2.1"}
	s.SetService(a, asl)
	mustSync(t, s)
	s.SetService(b, bsl)
	mustSync(t, s) // b cannot have the address: no error, a keeps it
	if ext := externalTarget(t, ns); ext != "svc-default/s1/http" {
		t.Fatalf("external IP goes to %q, want s1's chain", ext)
	}
	s.DeleteService("default", "s1")
	mustSync(t, s)
	if !s.Pending() {
		t.Fatalf("a released contended address did not schedule a resync")
	}
	if st := mustSync(t, s); !st.Full {
		t.Errorf("resync = %+v, want a full one", st)
	}
	if ext := externalTarget(t, ns); ext != "svc-default/s2/http" {
		t.Errorf("external IP goes to %q after s1 went, want s2's chain", ext)
	}
}

// externalTarget returns the chain the one external-ips element goes to.
func externalTarget(t *testing.T, ns *testNS) string {
	t.Helper()
	tab, _ := ns.listTable(t, "skiff")
	elems := tab.Sets["external-ips"].Elem
	if len(elems) != 1 {
		t.Fatalf("external-ips has %d elements, want 1", len(elems))
	}
	var pair []json.RawMessage
	var v struct {
		Goto struct{ Target string } `json:"goto"`
	}
	mustJSON(t, elems[0], &pair)
	if len(pair) != 2 {
		t.Fatalf("element %s is not a key and a verdict", elems[0])
	}
	mustJSON(t, pair[1], &v)
	return v.Goto.Target
}

func TestSyncRecoversFromALostTable(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "lost")
	s := newTestSyncer(t, ns)
	s.SetService(numbered(1, 1, 2))
	mustSync(t, s)
	ns.run(t, "nft", "delete", "table", "ip", "skiff")
	s.SetService(numbered(1, 2, 2))
	if _, err := s.Sync(); !errors.Is(err, ErrNftables) {
		t.Fatalf("sync without the table = %v, want an nftables error", err)
	}
	if st := mustSync(t, s); !st.Full {
		t.Errorf("sync after a failure = %+v, want a full one", st)
	}
	tab, _ := ns.listTable(t, "skiff")
	if !hasHairpin(tab, "10.42.1.3") {
		t.Errorf("the change staged before the failure is missing")
	}
}

func TestCleanup(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "cleanup")
	ns.run(t, "nft", "add", "table", "ip", "leftover")
	err := inNetns(ns.fd, func() error {
		if err := Cleanup("leftover"); err != nil {
			return err
		}
		return Cleanup("never-there")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ns.listTable(t, "leftover"); ok {
		t.Errorf("Cleanup left the table")
	}
}
