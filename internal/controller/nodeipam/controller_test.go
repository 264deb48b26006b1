package nodeipam

import (
	"net"
	"testing"
)

func TestAllocator(t *testing.T) {
	_, cidr, _ := net.ParseCIDR("10.42.0.0/22")
	a, err := newAllocator(cidr, 24)
	if err != nil {
		t.Fatal(err)
	}
	a.occupy("10.42.1.0/24")
	var got []string
	for i := 0; i < 3; i++ {
		s, err := a.next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{"10.42.0.0/24", "10.42.2.0/24", "10.42.3.0/24"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocation %d: got %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := a.next(); err != ErrFull {
		t.Fatalf("full allocator: %v", err)
	}
	a.release("10.42.2.0/24")
	if s, _ := a.next(); s != "10.42.2.0/24" {
		t.Fatalf("after release: %s", s)
	}
	a.occupy("192.168.0.0/24") // outside: ignored
	if _, err := newAllocator(cidr, 20); err == nil {
		t.Fatal("a mask shorter than the cluster CIDR must be refused")
	}
}
