package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestProxierRun drives the Proxier through a fake API: the first sync
// after the caches fill, changes landing within a second, Services of
// every kind, and the table gone after Run returns.
func TestProxierRun(t *testing.T) {
	requireRoot(t)
	ns := newNS(t, "run")
	ns.run(t, "nft", "add", "table", "ip", "skiff")
	ns.run(t, "nft", "add", "chain", "ip", "skiff", "leftover")
	ns.run(t, "nft", "add", "table", "ip", "other")

	web := svcOf("default", "web", "10.43.0.50", tcp("http", 80))
	web.Spec.Selector = map[string]string{"app": "web"}
	noSelector := svcOf("default", "manual", "10.43.0.51", tcp("", 5432))
	headless := svcOf("default", "headless", "None", tcp("http", 80))
	external := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ext"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "example.com"}}
	httpPorts := slicePorts(epPort("http", 8080, v1.ProtocolTCP))
	client := fake.NewClientset(web, noSelector, headless, external,
		sliceOf("default", "web", "web-1", httpPorts, ready("10.42.0.5")),
		sliceOf("default", "manual", "manual-1", slicePorts(epPort("", 5432, v1.ProtocolTCP)), ready("10.42.0.9")),
		sliceOf("default", "headless", "headless-1", httpPorts, ready("10.42.0.7")))

	var logs bytes.Buffer
	p, err := New(Config{Client: client, NetNS: ns.fd, NodeName: "node1",
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return 10s after cancel")
		}
	})
	t.Cleanup(func() { _ = stop() })

	tab := waitTable(t, ns, func(tab nftTable) bool { return len(tab.Sets["service-ips"].Elem) == 2 })
	if _, ok := tab.Chains["leftover"]; ok {
		t.Errorf("the first sync kept a chain of the old table")
	}
	for _, want := range []string{"svc-default/web/http", "svc-default/manual"} {
		if _, ok := tab.Chains[want]; !ok {
			t.Errorf("no chain %s; chains: %v", want, keys(tab.Chains))
		}
	}
	for name := range tab.Chains {
		if strings.HasPrefix(name, "svc-default/headless") || strings.HasPrefix(name, "svc-default/ext") {
			t.Errorf("chain %s for a headless or ExternalName service", name)
		}
	}

	// An endpoint change lands within a second.
	start := time.Now()
	_, err = client.DiscoveryV1().EndpointSlices("default").Update(ctx,
		sliceOf("default", "web", "web-1", httpPorts, ready("10.42.0.5"), ready("10.42.0.6")), metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitTable(t, ns, func(tab nftTable) bool { return hasHairpin(tab, "10.42.0.6") })
	if d := time.Since(start); d > time.Second {
		t.Errorf("endpoint change took %s to reach the kernel", d)
	}
	if m := p.Metrics(); m.Syncs < 2 || m.FullSyncs != 1 || m.Failures != 0 || m.Last.Full {
		t.Errorf("metrics = %+v, want a full sync then incremental ones", m)
	}

	// A burst of changes is applied in a few syncs, not one each: at
	// most one per MinSyncPeriod while the burst lasts (a loaded machine
	// stretches the burst, so the bound follows its length).
	before := p.Metrics().Syncs
	burst := time.Now()
	for j := 7; j < 27; j++ {
		eps := []discoveryv1.Endpoint{ready("10.42.0.5"), ready(fmt.Sprintf("10.42.0.%d", j))}
		if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx,
			sliceOf("default", "web", "web-1", httpPorts, eps...), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitTable(t, ns, func(tab nftTable) bool { return hasHairpin(tab, "10.42.0.26") && !hasHairpin(tab, "10.42.0.25") })
	limit := min(uint64(time.Since(burst)/DefaultMinSyncPeriod)+2, 19)
	if n := p.Metrics().Syncs - before; n > limit {
		t.Errorf("20 quick changes over %s took %d syncs, want at most %d", time.Since(burst).Round(time.Millisecond), n, limit)
	}

	// A deleted Service's rules go.
	if err := client.CoreV1().Services("default").Delete(ctx, "manual", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTable(t, ns, func(tab nftTable) bool {
		_, ok := tab.Chains["svc-default/manual"]
		return !ok && len(tab.Sets["service-ips"].Elem) == 1
	})

	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, ok := ns.listTable(t, "skiff"); ok {
		t.Errorf("the table is still there after Run returned")
	}
	if _, ok := ns.listTable(t, "other"); !ok {
		t.Errorf("another table was deleted")
	}
	if !strings.Contains(logs.String(), "synced nftables") {
		t.Errorf("no sync logged:\n%s", logs.String())
	}
}

// waitTable polls the table until ok accepts it (at most 5 s).
func waitTable(t *testing.T, ns *testNS, ok func(nftTable) bool) nftTable {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tab, exists := ns.listTable(t, "skiff")
		if exists && ok(tab) {
			return tab
		}
		if time.Now().After(deadline) {
			t.Fatalf("table not as expected after 5s: %+v", tab)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasHairpin(tab nftTable, ip string) bool {
	for _, e := range tab.Sets["hairpin"].Elem {
		if strings.Contains(string(e), `"`+ip+`"`) {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
