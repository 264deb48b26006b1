package apiserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/registry/catalog"
	"github.com/skiff/skiff/internal/store/storetest"
)

func newAllocServer(t *testing.T, cidr string, ports PortRange) kubernetes.Interface {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWith(t, Config{ServiceCIDR: n, NodePorts: ports})
}

func svc(name string, typ corev1.ServiceType, ip string, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: typ, ClusterIP: ip, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: nodePort}}},
	}
}

// causeMessage returns the first field cause of an Invalid error.
func causeMessage(t *testing.T, err error) string {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want Invalid, got %v", err)
	}
	causes := err.(apierrors.APIStatus).Status().Details.Causes
	if len(causes) == 0 {
		t.Fatalf("no causes in %v", err)
	}
	return causes[0].Field + ": " + causes[0].Message
}

func TestServiceClusterIPAllocation(t *testing.T) {
	c := newAllocServer(t, "10.96.0.0/24", DefaultNodePortRange)
	ctx := context.Background()
	svcs := c.CoreV1().Services("default")

	a, err := svcs.Create(ctx, svc("a", "", "", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(a.Spec.ClusterIP)
	_, cidr, _ := net.ParseCIDR("10.96.0.0/24")
	if ip == nil || !cidr.Contains(ip) || len(a.Spec.ClusterIPs) != 1 || a.Spec.ClusterIPs[0] != a.Spec.ClusterIP {
		t.Fatalf("allocated %q %v, want one address in %s", a.Spec.ClusterIP, a.Spec.ClusterIPs, cidr)
	}
	// Dynamic picks avoid the lower band (16 addresses of a /24).
	if ip.To4()[3] <= 16 {
		t.Errorf("dynamic IP %s is in the static band", ip)
	}

	// A chosen free IP is honoured; the same one again is refused.
	if b, err := svcs.Create(ctx, svc("b", "", "10.96.0.10", 0), metav1.CreateOptions{}); err != nil || b.Spec.ClusterIP != "10.96.0.10" {
		t.Fatalf("chosen IP: %v %v", b, err)
	}
	_, err = svcs.Create(ctx, svc("c", "", "10.96.0.10", 0), metav1.CreateOptions{})
	if got, want := causeMessage(t, err), "spec.clusterIPs[0]: Invalid value: \"10.96.0.10\": failed to allocate IP 10.96.0.10: provided IP is already allocated"; got != want {
		t.Errorf("taken IP: got %q, want %q", got, want)
	}
	_, err = svcs.Create(ctx, svc("c", "", "10.1.0.10", 0), metav1.CreateOptions{})
	if got := causeMessage(t, err); !strings.Contains(got, "is not in the valid range. The range of valid IPs is 10.96.0.0/24") {
		t.Errorf("out of range: got %q", got)
	}
	// Nothing half-written: the refused service does not exist.
	if _, err := svcs.Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refused service stored: %v", err)
	}

	// Deleting releases the IP.
	if err := svcs.Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, svc("c", "", "10.96.0.10", 0), metav1.CreateOptions{}); err != nil {
		t.Fatalf("released IP not reusable: %v", err)
	}

	// Headless and ExternalName services hold none.
	h := svc("h", "", corev1.ClusterIPNone, 0)
	if got, err := svcs.Create(ctx, h, metav1.CreateOptions{}); err != nil || got.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless: %v %v", got, err)
	}
	en := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "en"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"}}
	if got, err := svcs.Create(ctx, en, metav1.CreateOptions{}); err != nil || got.Spec.ClusterIP != "" {
		t.Fatalf("external name: %v %v", got, err)
	}
	// ExternalName -> ClusterIP allocates; back releases.
	cur, _ := svcs.Get(ctx, "en", metav1.GetOptions{})
	cur.Spec.Type, cur.Spec.ExternalName = corev1.ServiceTypeClusterIP, ""
	cur.Spec.Ports = []corev1.ServicePort{{Port: 80}}
	up, err := svcs.Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil || up.Spec.ClusterIP == "" {
		t.Fatalf("type change allocation: %v %v", up, err)
	}
	up.Spec.Type, up.Spec.ExternalName, up.Spec.ClusterIP, up.Spec.ClusterIPs = corev1.ServiceTypeExternalName, "example.org", "", nil
	if _, err := svcs.Update(ctx, up, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, svc("d", "", up.Spec.ClusterIP, 0), metav1.CreateOptions{}); err != nil {
		t.Fatalf("IP released by the type change not reusable: %v", err)
	}
}

// TestServiceConcurrentAllocation fills a tiny range from many goroutines:
// every service gets a distinct IP and the one too many is refused.
func TestServiceConcurrentAllocation(t *testing.T) {
	c := newAllocServer(t, "10.96.0.0/27", DefaultNodePortRange) // 30 usable
	ctx := context.Background()
	const n = 31
	var wg sync.WaitGroup
	ips := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.CoreV1().Services("default").Create(ctx, svc("s"+string(rune('a'+i%26))+string(rune('a'+i/26)), "", "", 0), metav1.CreateOptions{})
			if err == nil {
				ips[i] = s.Spec.ClusterIP
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	failed := 0
	for i, ip := range ips {
		if errs[i] != nil {
			failed++
			continue
		}
		if seen[ip] {
			t.Errorf("IP %s handed out twice", ip)
		}
		seen[ip] = true
	}
	if len(seen) != 30 || failed != 1 {
		t.Errorf("got %d distinct IPs and %d failures, want 30 and 1 (errors: %v)", len(seen), failed, errs)
	}
}

func TestServiceNodePortAllocation(t *testing.T) {
	c := newAllocServer(t, "10.96.0.0/24", PortRange{Base: 30000, Size: 3})
	ctx := context.Background()
	svcs := c.CoreV1().Services("default")
	a, err := svcs.Create(ctx, svc("a", corev1.ServiceTypeNodePort, "", 0), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Spec.Ports[0].NodePort; p < 30000 || p > 30002 {
		t.Fatalf("node port %d out of range", p)
	}
	_, err = svcs.Create(ctx, svc("b", corev1.ServiceTypeNodePort, "", a.Spec.Ports[0].NodePort), metav1.CreateOptions{})
	if got, want := causeMessage(t, err), fmt.Sprintf("spec.ports[0].nodePort: Invalid value: %d: provided port is already allocated", a.Spec.Ports[0].NodePort); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = svcs.Create(ctx, svc("b", corev1.ServiceTypeNodePort, "", 31000), metav1.CreateOptions{})
	if got, want := causeMessage(t, err), "spec.ports[0].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30002"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Two more fit, a fourth does not; the failed create leaves no IP behind.
	for _, name := range []string{"b", "c"} {
		if _, err := svcs.Create(ctx, svc(name, corev1.ServiceTypeNodePort, "", 0), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svcs.Create(ctx, svc("d", corev1.ServiceTypeNodePort, "10.96.0.5", 0), metav1.CreateOptions{}); err == nil {
		t.Fatal("fourth node port allocated from a range of three")
	}
	if _, err := svcs.Create(ctx, svc("e", "", "10.96.0.5", 0), metav1.CreateOptions{}); err != nil {
		t.Fatalf("IP of the refused service leaked: %v", err)
	}
	// NodePort -> ClusterIP releases the port.
	cur, _ := svcs.Get(ctx, "a", metav1.GetOptions{})
	cur.Spec.Type = corev1.ServiceTypeClusterIP
	cur.Spec.Ports[0].NodePort = 0
	if _, err := svcs.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, svc("f", corev1.ServiceTypeNodePort, "", a.Spec.Ports[0].NodePort), metav1.CreateOptions{}); err != nil {
		t.Fatalf("port released by the type change not reusable: %v", err)
	}
}

// TestRepairServiceAllocations: a stored service whose keys are missing
// (written before allocations were kept) gets them back, so its IP is
// not handed out again.
func TestRepairServiceAllocations(t *testing.T) {
	st, _ := storetest.New(t, nil)
	_, cidr, _ := net.ParseCIDR("10.96.0.0/24")
	s, err := New(Config{Store: st, Resources: catalog.Resources(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ServiceCIDR: cidr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	old := svc("old", corev1.ServiceTypeNodePort, "10.96.0.20", 30007)
	old.Namespace = "default"
	if err := s.EnsureObjects(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, old); err != nil {
		t.Fatal(err)
	}
	// Lose the keys, as data from before allocations were kept has none.
	for _, key := range []string{ipKey("10.96.0.20"), portKey(30007)} {
		if _, _, err := st.Delete(ctx, key, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RepairServiceAllocations(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{ipKey("10.96.0.20"), portKey(30007)} {
		if taken, err := st.Taken(ctx, key); err != nil || !taken {
			t.Errorf("%s not taken after the repair: %v", key, err)
		}
	}
}
