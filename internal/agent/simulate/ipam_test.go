package simulate

import (
	"errors"
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestIPPool(t *testing.T) {
	p := newIPPool()
	prefix := netip.MustParsePrefix("10.42.3.0/29") // .2 to .6 are pods'
	assign := func(uid string) string {
		t.Helper()
		a, err := p.assign(types.UID(uid), prefix)
		if err != nil {
			t.Fatalf("assign %s: %v", uid, err)
		}
		return a.String()
	}
	p.reserve("old", "10.42.3.4")
	got := []string{assign("a"), assign("b"), assign("c"), assign("a")}
	want := []string{"10.42.3.2", "10.42.3.3", "10.42.3.5", "10.42.3.2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("addresses %v, want %v", got, want)
		}
	}
	assign("d")
	if _, err := p.assign("e", prefix); !errors.Is(err, ErrNoPodIP) {
		t.Fatalf("full pool: %v", err)
	}
	p.release("b")
	if ip := assign("e"); ip != "10.42.3.3" {
		t.Errorf("after release: %s, want 10.42.3.3", ip)
	}
	p.reserve("f", "10.42.3.5") // held by c: stays with c
	p.release("d")
	if ip := assign("f"); ip != "10.42.3.6" {
		t.Errorf("f got %s, want 10.42.3.6", ip)
	}
}
