package endpoint

import (
	"errors"
	"strings"
	"time"

	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestReadyAndNotReadyAddresses(t *testing.T) {
	f := newFixture(t, newService("web"),
		newPod("ready", "web", "10.0.0.2"),
		newPod("unready", "web", "10.0.0.3", notReady),
		newPod("no-ip", "web", "", func(p *corev1.Pod) { p.Status.PodIPs = nil }),
		newPod("done", "web", "10.0.0.4", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		newPod("failed", "web", "10.0.0.5", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
		newPod("other-app", "db", "10.0.0.6"),
		newPod("other-ns", "web", "10.0.0.7", func(p *corev1.Pod) { p.Namespace = "other" }),
	)
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"create"}) {
		t.Fatalf("writes %v, want one create", got)
	}
	ep := f.endpoints("web")
	want := []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2", NodeName: ptr.To("n1"),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "ready", UID: "ready-uid"}}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.3", NodeName: ptr.To("n1"),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "unready", UID: "unready-uid"}}},
		Ports: []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
	}}
	if d := cmp.Diff(want, ep.Subsets); d != "" {
		t.Errorf("subsets (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"team": "a"}, ep.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	// The earliest change not yet reflected: the service's creation.
	if got := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2026-11-01T12:00:00Z" {
		t.Errorf("trigger time %q", got)
	}
}

func TestReadinessChangeMovesAddress(t *testing.T) {
	p := newPod("a", "web", "10.0.0.2", notReady)
	f := newFixture(t, newService("web"), p)
	f.mustSync("web")
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, []string{"[]|[10.0.0.2]|[http:8080]"}) {
		t.Fatalf("before: %v", got)
	}
	p = p.DeepCopy()
	p.Status.Conditions[0].Status = corev1.ConditionTrue
	p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(2 * time.Minute))
	f.update(p)
	f.mustSync("web")
	ep := f.endpoints("web")
	if got := describe(ep.Subsets); !slices.Equal(got, []string{"[10.0.0.2]|[]|[http:8080]"}) {
		t.Errorf("after: %v", got)
	}
	if got := ep.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2026-11-01T12:02:00Z" {
		t.Errorf("trigger time %q, want the pod's transition", got)
	}
}

func TestNamedPortsResolvedPerPod(t *testing.T) {
	svc := newService("web", namedTarget, func(s *corev1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)})
	})
	noWeb := func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }
	udpWeb := func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP }
	f := newFixture(t, svc,
		newPod("a", "web", "10.0.0.1"),
		newPod("b", "web", "10.0.0.2"),
		newPod("c", "web", "10.0.0.3", webPort(8081)),
		newPod("d", "web", "10.0.0.4", noWeb),
		newPod("e", "web", "10.0.0.5", udpWeb),
	)
	f.mustSync("web")
	want := []string{
		"[10.0.0.1 10.0.0.2]|[]|[http:8080]",
		"[10.0.0.3]|[]|[http:8081]",
		"[10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5]|[]|[metrics:9090]",
	}
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, want) {
		t.Errorf("subsets\n got %v\nwant %v", got, want)
	}
}

func TestPortsOfTheSameAddressesShareASubset(t *testing.T) {
	svc := newService("web", func(s *corev1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "admin", Port: 81, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8081)})
	})
	f := newFixture(t, svc, newPod("a", "web", "10.0.0.9"), newPod("b", "web", "10.0.0.10", notReady))
	f.mustSync("web")
	want := []string{"[10.0.0.9]|[10.0.0.10]|[admin:8081 http:8080]"}
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, want) {
		t.Errorf("subsets %v, want %v", got, want)
	}
}

func TestPublishNotReadyAddresses(t *testing.T) {
	svc := newService("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true })
	f := newFixture(t, svc,
		newPod("ready", "web", "10.0.0.1"),
		newPod("unready", "web", "10.0.0.2", notReady),
		newPod("going", "web", "10.0.0.3", terminating),
	)
	f.mustSync("web")
	want := []string{"[10.0.0.1 10.0.0.2 10.0.0.3]|[]|[http:8080]"}
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, want) {
		t.Errorf("subsets %v, want %v", got, want)
	}
}

func TestTerminatingPodsLeftOut(t *testing.T) {
	f := newFixture(t, newService("web"),
		newPod("ready", "web", "10.0.0.1"),
		newPod("going", "web", "10.0.0.3", terminating),
		newPod("going-unready", "web", "10.0.0.4", terminating, notReady),
	)
	f.mustSync("web")
	want := []string{"[10.0.0.1]|[]|[http:8080]"}
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, want) {
		t.Errorf("subsets %v, want %v", got, want)
	}
}

func TestHostnameOnlyForTheSubdomainService(t *testing.T) {
	named := func(host, sub string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = host, sub }
	}
	headless := func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }
	f := newFixture(t, newService("web", headless),
		newPod("a", "web", "10.0.0.1", named("web-0", "web")),
		newPod("b", "web", "10.0.0.2", named("web-1", "elsewhere")),
		newPod("c", "web", "10.0.0.3", named("", "web")),
	)
	f.mustSync("web")
	ep := f.endpoints("web")
	got := map[string]string{}
	for _, a := range ep.Subsets[0].Addresses {
		got[a.IP] = a.Hostname
	}
	want := map[string]string{"10.0.0.1": "web-0", "10.0.0.2": "", "10.0.0.3": ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("hostnames (-want +got):\n%s", d)
	}
	if v, ok := ep.Labels[corev1.IsHeadlessService]; !ok || v != "" {
		t.Errorf("labels %v, want the headless label", ep.Labels)
	}
}

func TestHeadlessWithoutPorts(t *testing.T) {
	svc := newService("db", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = corev1.ClusterIPNone, nil })
	f := newFixture(t, svc, newPod("a", "db", "10.0.0.1"), newPod("b", "db", "10.0.0.2", notReady))
	f.mustSync("db")
	want := []string{"[10.0.0.1]|[10.0.0.2]|[]"}
	if got := describe(f.endpoints("db").Subsets); !slices.Equal(got, want) {
		t.Errorf("subsets %v, want %v", got, want)
	}
}

func TestAddressOfTheServiceFamily(t *testing.T) {
	dual := func(p *corev1.Pod) {
		p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
	}
	v6 := func(s *corev1.Service) {
		s.Spec.ClusterIP, s.Spec.IPFamilies = "fd00:96::10", []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
	}
	f := newFixture(t, newService("web", v6), newPod("a", "web", "10.0.0.1", dual), newPod("b", "web", "10.0.0.2"))
	f.mustSync("web")
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, []string{"[fd00::1]|[]|[http:8080]"}) {
		t.Errorf("subsets %v, want only the pod's IPv6 address", got)
	}
}

func TestSelectorChange(t *testing.T) {
	svc := newService("web")
	f := newFixture(t, svc, newPod("a", "web", "10.0.0.1"), newPod("b", "canary", "10.0.0.2"))
	f.mustSync("web")
	svc = svc.DeepCopy()
	svc.Spec.Selector = map[string]string{"app": "canary"}
	f.update(svc)
	f.mustSync("web")
	if got := describe(f.endpoints("web").Subsets); !slices.Equal(got, []string{"[10.0.0.2]|[]|[http:8080]"}) {
		t.Errorf("subsets %v, want only the newly selected pod", got)
	}
	// Nothing selected any more: the Endpoints stay, empty.
	svc = svc.DeepCopy()
	svc.Spec.Selector = map[string]string{"app": "none"}
	f.update(svc)
	f.mustSync("web")
	if got := f.endpoints("web").Subsets; len(got) != 0 {
		t.Errorf("subsets %v, want none", got)
	}
}

func TestServiceLabelsFollowed(t *testing.T) {
	svc := newService("web")
	f := newFixture(t, svc, newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	svc = svc.DeepCopy()
	svc.Labels = map[string]string{"team": "b"}
	f.update(svc)
	f.mustSync("web")
	if got := f.endpoints("web").Labels; !cmp.Equal(got, map[string]string{"team": "b"}) {
		t.Errorf("labels %v", got)
	}
}

func TestServiceDeletionDeletesEndpoints(t *testing.T) {
	f := newFixture(t, newService("web"), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	f.endpoints("web")
	f.delete("services", "web")
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"delete"}) {
		t.Errorf("writes %v, want a delete", got)
	}
	if _, err := f.client.CoreV1().Endpoints(ns).Get(context.Background(), "web", metav1.GetOptions{}); err == nil {
		t.Error("endpoints still exist")
	}
	// Already gone: nothing to do, no error.
	f.mustSync("web")
}

func TestNoOpSyncsDoNotWrite(t *testing.T) {
	svc := newService("web", namedTarget)
	a := newPod("a", "web", "10.0.0.1")
	f := newFixture(t, svc, a, newPod("b", "web", "10.0.0.2", notReady), newPod("c", "web", "10.0.0.3", webPort(9000)))
	f.mustSync("web")
	before := f.endpoints("web")
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("second sync wrote %v", got)
	}
	// A change endpoints do not show: still nothing to write.
	a = a.DeepCopy()
	a.Annotations = map[string]string{"note": "x"}
	f.update(a)
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync after an unrelated pod change wrote %v", got)
	}
	if after := f.endpoints("web"); after.ResourceVersion != before.ResourceVersion {
		t.Errorf("resource version %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
}

func TestUnmanagedServicesUntouched(t *testing.T) {
	selectorless := newService("manual", func(s *corev1.Service) { s.Spec.Selector = nil })
	external := newService("ext", func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalName, s.Spec.ClusterIP = corev1.ServiceTypeExternalName, "example.com", ""
	})
	user := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "manual", Namespace: ns, ResourceVersion: "7"},
		Subsets:    []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}, Ports: []corev1.EndpointPort{{Port: 5432}}}},
	}
	f := newFixture(t, selectorless, external, user, newPod("a", "manual", "10.0.0.1"), newPod("b", "ext", "10.0.0.2"))
	for _, name := range []string{"manual", "ext"} {
		f.mustSync(name)
		if got := f.writes(); len(got) != 0 {
			t.Errorf("%s: writes %v", name, got)
		}
	}
	if got := f.endpoints("manual"); !cmp.Equal(got, user) {
		t.Errorf("user endpoints changed: %v", cmp.Diff(user, got))
	}
	if _, err := f.client.CoreV1().Endpoints(ns).Get(context.Background(), "ext", metav1.GetOptions{}); err == nil {
		t.Error("ExternalName service got endpoints")
	}
}

func TestOverCapacityTruncated(t *testing.T) {
	objs := []runtime.Object{newService("big")}
	for i := range 1001 {
		objs = append(objs, newPod(fmt.Sprintf("p%04d", i), "big", fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)))
	}
	objs = append(objs, newPod("unready", "big", "10.2.0.1", notReady))
	f := newFixture(t, objs...)
	f.mustSync("big")
	ep := f.endpoints("big")
	if got := ep.Annotations[corev1.EndpointsOverCapacity]; got != "truncated" {
		t.Errorf("over-capacity annotation %q", got)
	}
	if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1000 || len(ep.Subsets[0].NotReadyAddresses) != 0 {
		t.Fatalf("subsets: %d", len(ep.Subsets))
	}
	f.mustSync("big")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync of unchanged truncated endpoints wrote %v", got)
	}
	// Back under the cap: the annotation goes.
	f.delete("pods", "p0000")
	f.delete("pods", "p0001")
	f.mustSync("big")
	ep = f.endpoints("big")
	if _, ok := ep.Annotations[corev1.EndpointsOverCapacity]; ok {
		t.Error("over-capacity annotation kept")
	}
	if n := len(ep.Subsets[0].Addresses) + len(ep.Subsets[0].NotReadyAddresses); n != 1000 {
		t.Errorf("%d addresses, want 999 ready and 1 not ready", n)
	}
}

func TestStaleCacheDefersSync(t *testing.T) {
	f := newFixture(t, newService("web"), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	// The cache has not seen the create yet.
	f.check(f.factory.Core().V1().Endpoints().Informer().GetIndexer().Replace(nil, ""))
	f.client.ClearActions()
	if err := f.c.sync(context.Background(), ns+"/web"); !errors.Is(err, errStale) {
		t.Fatalf("sync on a stale cache: %v, want errStale", err)
	}
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync on a stale cache wrote %v", got)
	}
	f.mustSync("web")
}

func TestWriteFailureRecordsEvent(t *testing.T) {
	f := newFixture(t, newService("web"), newPod("a", "web", "10.0.0.1"))
	f.client.PrependReactor("create", "endpoints", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("boom"))
	})
	if err := f.sync("web"); err == nil {
		t.Fatal("sync succeeded")
	}
	if got := f.events(); len(got) != 1 || !strings.HasPrefix(got[0], "Warning FailedToCreateEndpoint") {
		t.Errorf("events %v", got)
	}
}
