package dns

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// answersOf is a poll check: the query's rcode and answer, rendered.
func answersOf(t *testing.T, ts *testServer, name string, qtype uint16) string {
	r := ts.ask(t, name, qtype)
	return fmt.Sprintf("%s %v", dns.RcodeToString[r.Rcode], rrs(r.Answer))
}

func TestHeadlessFollowsReadiness(t *testing.T) {
	ctx := context.Background()
	ports := []discoveryv1.EndpointPort{slicePort("peer", tcp, 5432)}
	sl := slice("default", "db-1", "db", v4, ports,
		ep{ip: "10.42.0.5", hostname: "db-0", ready: ptr(true)},
		ep{ip: "10.42.0.6", hostname: "db-1", ready: ptr(true)})
	ts := startServer(t, Config{},
		service("default", "db", corev1.ServiceTypeClusterIP, []string{"None"}), sl)
	const name = "db.default.svc.cluster.local."
	const both = "NOERROR [A 10.42.0.5 A 10.42.0.6]"
	if got := answersOf(t, ts, name, dns.TypeA); got != both {
		t.Fatalf("before the change: %s, want %s", got, both)
	}

	// db-1 becomes unready: it leaves the service name, its own name, the
	// SRV answer and the reverse zone.
	sl = sl.DeepCopy()
	sl.Endpoints[1].Conditions.Ready = ptr(false)
	if _, err := ts.client.DiscoveryV1().EndpointSlices("default").Update(ctx, sl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	const one = "NOERROR [A 10.42.0.5]"
	eventually(t, "unready endpoint leaves the answer", func() (bool, string) {
		got := answersOf(t, ts, name, dns.TypeA)
		return got == one, got
	})
	checks := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"db-1.db.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN []"},
		{"_peer._tcp.db.default.svc.cluster.local.", dns.TypeSRV, "NOERROR [SRV 0 100 5432 db-0.db.default.svc.cluster.local.]"},
		{"6.0.42.10.in-addr.arpa.", dns.TypePTR, "SERVFAIL []"}, // not ours any more: forwarded, and no upstream
	}
	for _, c := range checks {
		if got := answersOf(t, ts, c.name, c.qtype); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.name, dns.TypeToString[c.qtype], got, c.want)
		}
	}

	// Deleting the slice leaves the service with no records; deleting the
	// service removes the name.
	if err := ts.client.DiscoveryV1().EndpointSlices("default").Delete(ctx, "db-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted slice leaves no addresses", func() (bool, string) {
		got := answersOf(t, ts, name, dns.TypeA)
		return got == "NOERROR []", got
	})
	if err := ts.client.CoreV1().Services("default").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deleted service is NXDOMAIN", func() (bool, string) {
		got := answersOf(t, ts, name, dns.TypeA)
		return got == "NXDOMAIN []", got
	})
	if got := answersOf(t, ts, "default.svc.cluster.local.", dns.TypeA); got != "NXDOMAIN []" {
		t.Errorf("namespace without services: %s, want NXDOMAIN", got)
	}
}

func TestServiceChanges(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, Config{})
	const name = "api.prod.svc.cluster.local."
	if got := answersOf(t, ts, name, dns.TypeA); got != "NXDOMAIN []" {
		t.Fatalf("before create: %s", got)
	}
	svc := service("prod", "api", corev1.ServiceTypeClusterIP, []string{"10.43.1.1"}, port("http", tcp, 80))
	svc, err := ts.client.CoreV1().Services("prod").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "created service answers", func() (bool, string) {
		got := answersOf(t, ts, name, dns.TypeA)
		return got == "NOERROR [A 10.43.1.1]", got
	})

	// A slice that arrives first is kept until its service exists, and a
	// slice that moves to another service leaves the first one.
	sl := slice("prod", "api-x", "api", v4, nil, ep{ip: "10.42.3.3", hostname: "api-0"})
	if _, err := ts.client.DiscoveryV1().EndpointSlices("prod").Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "endpoint name", func() (bool, string) {
		got := answersOf(t, ts, "api-0."+name, dns.TypeA)
		return got == "NOERROR [A 10.42.3.3]", got
	})
	sl.Labels[discoveryv1.LabelServiceName] = "api2"
	if _, err := ts.client.DiscoveryV1().EndpointSlices("prod").Update(ctx, sl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "moved slice leaves its first service", func() (bool, string) {
		got := answersOf(t, ts, "api-0."+name, dns.TypeA)
		return got == "NXDOMAIN []", got
	})
	svc2 := service("prod", "api2", corev1.ServiceTypeClusterIP, []string{"None"})
	if _, err := ts.client.CoreV1().Services("prod").Create(ctx, svc2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "slice created before its service", func() (bool, string) {
		got := answersOf(t, ts, "api2.prod.svc.cluster.local.", dns.TypeA)
		return got == "NOERROR [A 10.42.3.3]", got
	})

	// A service turned into an ExternalName answers with a CNAME.
	svc = svc.DeepCopy()
	svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.org"}
	if _, err := ts.client.CoreV1().Services("prod").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "service turned ExternalName", func() (bool, string) {
		got := answersOf(t, ts, name, dns.TypeA)
		return got == "NOERROR [CNAME db.example.org.]", got
	})
	if got := answersOf(t, ts, "1.1.43.10.in-addr.arpa.", dns.TypePTR); got != "SERVFAIL []" {
		t.Errorf("the old cluster IP's PTR: %s, want it gone (forwarded, no upstream)", got)
	}
}
