package network

import (
	"net"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNetns runs fn in a new network namespace on a locked thread.
func inNetns(t *testing.T, fn func()) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is left locked: it dies with the goroutine, and the
		// namespace with it.
		orig, err := netns.Get()
		if err != nil {
			t.Error(err)
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			t.Errorf("new netns (needs root): %v", err)
			return
		}
		defer ns.Close()
		fn()
	}()
	<-done
}

func TestSyncPeerRoutes(t *testing.T) {
	inNetns(t, func() {
		// A veth with 10.250.0.1/24 makes 10.250.0.x gateways on-link.
		d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "skiffgw0"}, PeerName: "skiffgw1"}
		if err := netlink.LinkAdd(d); err != nil {
			t.Fatal(err)
		}
		addr, _ := netlink.ParseAddr("10.250.0.1/24")
		if err := netlink.AddrAdd(d, addr); err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetUp(d); err != nil {
			t.Fatal(err)
		}
		cidr := func(s string) *net.IPNet { _, n, _ := net.ParseCIDR(s); return n }
		routes := func() map[string]string {
			got := map[string]string{}
			rs, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				got[r.Dst.String()] = r.Gw.String()
			}
			return got
		}
		want := []PeerRoute{{PodCIDR: cidr("10.42.1.0/24"), NodeIP: net.ParseIP("10.250.0.2")}, {PodCIDR: cidr("10.42.2.0/24"), NodeIP: net.ParseIP("10.250.0.3")}}
		if err := SyncPeerRoutes(want); err != nil {
			t.Fatal(err)
		}
		if got := routes(); len(got) != 2 || got["10.42.1.0/24"] != "10.250.0.2" || got["10.42.2.0/24"] != "10.250.0.3" {
			t.Fatalf("routes after first sync: %v", got)
		}
		// A node moves, one goes, an off-link one fails alone.
		want = []PeerRoute{{PodCIDR: cidr("10.42.1.0/24"), NodeIP: net.ParseIP("10.250.0.9")}, {PodCIDR: cidr("10.42.3.0/24"), NodeIP: net.ParseIP("192.0.2.1")}}
		if err := SyncPeerRoutes(want); err == nil {
			t.Error("off-link gateway accepted")
		}
		if got := routes(); len(got) != 1 || got["10.42.1.0/24"] != "10.250.0.9" {
			t.Fatalf("routes after second sync: %v", got)
		}
		if err := SyncPeerRoutes(nil); err != nil {
			t.Fatal(err)
		}
		if got := routes(); len(got) != 0 {
			t.Fatalf("routes left: %v", got)
		}
	})
}
