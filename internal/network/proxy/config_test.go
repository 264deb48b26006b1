package proxy

import (
	"errors"
	"net"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

func TestConfig(t *testing.T) {
	_, v4, _ := net.ParseCIDR("10.42.0.0/16")
	_, v6, _ := net.ParseCIDR("fd00::/64")
	mapped := &net.IPNet{IP: net.ParseIP("10.42.0.0"), Mask: net.CIDRMask(112, 128)}
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"IPv4 cluster CIDR", Config{ClusterCIDR: v4}, true},
		{"IPv4 cluster CIDR in 16 bytes", Config{ClusterCIDR: mapped}, true},
		{"IPv6 cluster CIDR", Config{ClusterCIDR: v6}, false},
		{"table name nft would need quoted", Config{Table: "my table"}, false},
		{"table name too long", Config{Table: string(make([]byte, 100))}, false},
		{"negative netns fd", Config{NetNS: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSyncer(tt.cfg)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("NewSyncer = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && s.table != DefaultTable && tt.cfg.Table == "" {
				t.Errorf("table %q, want the default", s.table)
			}
		})
	}
	if s, _ := NewSyncer(Config{ClusterCIDR: mapped}); s.cidr.String() != "10.42.0.0/16" {
		t.Errorf("cluster CIDR %s, want 10.42.0.0/16", s.cidr)
	}
	if _, err := New(Config{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New without a client = %v, want ErrConfig", err)
	}
	if _, err := New(Config{Client: fake.NewClientset()}); err != nil {
		t.Errorf("New = %v", err)
	}
}
