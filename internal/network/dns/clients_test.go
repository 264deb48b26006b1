package dns

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestRecursionFrom: with RecursionFrom set, names outside the cluster
// domain are forwarded only for the pod network, loopback and nodes;
// everyone else is refused them but still gets cluster names.
func TestRecursionFrom(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.7"}}}}
	web := service("default", "web", corev1.ServiceTypeClusterIP, []string{"10.43.0.20"})
	ts := runServer(t, fake.NewClientset(node, web), Config{RecursionFrom: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}})
	ask := func(from, name string) int {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		return ts.handle(m, &net.UDPAddr{IP: net.ParseIP(from), Port: 5353}).Rcode
	}
	// No upstreams: a forwarded query fails with SERVFAIL, a refused one
	// never gets that far.
	for _, tc := range []struct {
		from string
		want int
	}{
		{"192.0.2.9", dns.RcodeRefused},
		{"10.42.3.4", dns.RcodeServerFailure},
		{"192.0.2.7", dns.RcodeServerFailure},
		{"127.0.0.1", dns.RcodeServerFailure},
	} {
		if got := ask(tc.from, "example.org."); got != tc.want {
			t.Errorf("example.org from %s: %s, want %s", tc.from, dns.RcodeToString[got], dns.RcodeToString[tc.want])
		}
	}
	if got := ask("192.0.2.9", "web.default.svc.cluster.local."); got != dns.RcodeSuccess {
		t.Errorf("cluster name from outside: %s", dns.RcodeToString[got])
	}
}
