package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestSliceOfAService(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", "zone-a"),
		newPod("ready", "web", "10.0.0.1"),
		newPod("unready", "web", "10.0.0.2", notReady),
		newPod("going", "web", "10.0.0.3", terminating),
		newPod("going-unready", "web", "10.0.0.4", terminating, notReady),
		newPod("no-ip", "web", "", func(p *corev1.Pod) { p.Status.PodIPs = nil }),
		newPod("done", "web", "10.0.0.5", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		newPod("other", "db", "10.0.0.6"),
	)
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"create web-"}) {
		t.Fatalf("writes %v", got)
	}
	ss := f.slices("web")
	s := ss[0]
	wantLabels := map[string]string{"team": "a", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}
	if d := cmp.Diff(wantLabels, s.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	wantRef := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "web", UID: "web-uid", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	if d := cmp.Diff(wantRef, s.OwnerReferences); d != "" {
		t.Errorf("owner references (-want +got):\n%s", d)
	}
	if s.AddressType != discoveryv1.AddressTypeIPv4 || !strings.HasPrefix(s.Name, "web-") {
		t.Errorf("name %s, address type %s", s.Name, s.AddressType)
	}
	wantPorts := []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}}
	if d := cmp.Diff(wantPorts, s.Ports); d != "" {
		t.Errorf("ports (-want +got):\n%s", d)
	}
	// Conditions ready, serving, terminating: a terminating pod is not
	// ready but serves as long as it is ready.
	want := []string{"going [10.0.0.3] ftt", "going-unready [10.0.0.4] fft", "ready [10.0.0.1] ttf", "unready [10.0.0.2] fff"}
	if got := summaries(s); !slices.Equal(got, want) {
		t.Errorf("endpoints\n got %v\nwant %v", got, want)
	}
	ready := s.Endpoints[slices.IndexFunc(s.Endpoints, func(ep discoveryv1.Endpoint) bool { return ep.TargetRef.Name == "ready" })]
	wantEP := discoveryv1.Endpoint{
		Addresses:  []string{"10.0.0.1"},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "ready", UID: "ready-uid"},
		NodeName:   ptr.To("n1"), Zone: ptr.To("zone-a"),
	}
	if d := cmp.Diff(wantEP, ready); d != "" {
		t.Errorf("endpoint (-want +got):\n%s", d)
	}
	if got := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; got != "2026-11-01T12:00:00Z" {
		t.Errorf("trigger time %q", got)
	}
}

func TestPublishNotReadyAddresses(t *testing.T) {
	svc := newService("web", func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true })
	f := newFixture(t, svc, newNode("n1", ""),
		newPod("ready", "web", "10.0.0.1"),
		newPod("unready", "web", "10.0.0.2", notReady),
		newPod("going", "web", "10.0.0.3", terminating, notReady),
	)
	f.mustSync("web")
	want := []string{"going [10.0.0.3] tft", "ready [10.0.0.1] ttf", "unready [10.0.0.2] tff"}
	if got := summaries(f.slices("web")[0]); !slices.Equal(got, want) {
		t.Errorf("endpoints\n got %v\nwant %v", got, want)
	}
}

func TestPodsWithOtherPortsGetOtherSlices(t *testing.T) {
	noWeb := func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }
	f := newFixture(t, newService("web"), newNode("n1", ""),
		newPod("a", "web", "10.0.0.1"), newPod("b", "web", "10.0.0.2"),
		newPod("c", "web", "10.0.0.3", webPort(9000)),
		newPod("d", "web", "10.0.0.4", noWeb),
	)
	f.mustSync("web")
	got := map[string][]string{}
	for _, s := range f.slices("web") {
		got[strings.Join(portList(s), ",")] = summaries(s)
	}
	want := map[string][]string{
		"http:8080": {"a [10.0.0.1] ttf", "b [10.0.0.2] ttf"},
		"http:9000": {"c [10.0.0.3] ttf"},
		"":          {"d [10.0.0.4] ttf"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("slices by ports (-want +got):\n%s", d)
	}
}

func TestHeadlessHostname(t *testing.T) {
	headless := func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }
	named := func(host, sub string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = host, sub }
	}
	f := newFixture(t, newService("web", headless), newNode("n1", ""),
		newPod("a", "web", "10.0.0.1", named("web-0", "web")),
		newPod("b", "web", "10.0.0.2", named("web-1", "other")),
	)
	f.mustSync("web")
	s := f.slices("web")[0]
	if v, ok := s.Labels[corev1.IsHeadlessService]; !ok || v != "" {
		t.Errorf("labels %v, want the headless label", s.Labels)
	}
	got := map[string]string{}
	for _, ep := range s.Endpoints {
		got[ep.TargetRef.Name] = deref(ep.Hostname)
	}
	if d := cmp.Diff(map[string]string{"a": "web-0", "b": ""}, got); d != "" {
		t.Errorf("hostnames (-want +got):\n%s", d)
	}
}

func TestDualStack(t *testing.T) {
	dual := func(s *corev1.Service) {
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
	}
	f := newFixture(t, newService("web", dual), newNode("n1", ""),
		newPod("a", "web", "10.0.0.1", func(p *corev1.Pod) { p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::1"}) }),
		newPod("b", "web", "10.0.0.2"),
	)
	f.mustSync("web")
	got := map[discoveryv1.AddressType][]string{}
	for _, s := range f.slices("web") {
		got[s.AddressType] = summaries(s)
	}
	want := map[discoveryv1.AddressType][]string{
		discoveryv1.AddressTypeIPv4: {"a [10.0.0.1] ttf", "b [10.0.0.2] ttf"},
		discoveryv1.AddressTypeIPv6: {"a [fd00::1] ttf"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("slices by type (-want +got):\n%s", d)
	}
	// Back to single-stack: the IPv6 slice goes.
	svc := newService("web")
	f.update(svc)
	f.mustSync("web")
	if got := f.writes(); len(got) != 1 || !strings.HasPrefix(got[0], "delete ") {
		t.Errorf("writes %v, want the IPv6 slice deleted", got)
	}
}

func TestMoreThan100EndpointsSplit(t *testing.T) {
	objs := append([]runtime.Object{newService("big"), newNode("n1", "")}, manyPods("big", 250)...)
	f := newFixture(t, objs...)
	f.mustSync("big")
	ss := f.slices("big")
	var sizes []int
	for _, s := range ss {
		sizes = append(sizes, len(s.Endpoints))
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{50, 100, 100}) {
		t.Fatalf("slice sizes %v", sizes)
	}
	if n := len(f.writes()); n != 3 {
		t.Errorf("%d writes, want 3 creates", n)
	}

	f.mustSync("big")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("no-op sync wrote %v", got)
	}

	// Ten pods go from a full slice and five come: the five fill the
	// slice being updated anyway; nothing else is written.
	full := ss[slices.IndexFunc(ss, func(s *discoveryv1.EndpointSlice) bool { return len(s.Endpoints) == 100 })]
	for _, ep := range full.Endpoints[:10] {
		f.delete("pods", ep.TargetRef.Name)
	}
	for i := range 5 {
		f.add(newPod(fmt.Sprintf("new-%d", i), "big", fmt.Sprintf("10.9.0.%d", i+1)))
	}
	f.mustSync("big")
	if got := f.writes(); !slices.Equal(got, []string{"update " + full.Name}) {
		t.Errorf("writes %v, want one update of %s", got, full.Name)
	}
	if n := endpointCount(f.slices("big")); n != 245 {
		t.Errorf("%d endpoints, want 245", n)
	}

	// Thirty more fit in no slice but the half-full one.
	for i := range 30 {
		f.add(newPod(fmt.Sprintf("more-%02d", i), "big", fmt.Sprintf("10.9.1.%d", i+1)))
	}
	f.mustSync("big")
	if got := f.writes(); len(got) != 1 || !strings.HasPrefix(got[0], "update ") {
		t.Errorf("writes %v, want one update", got)
	}
	for _, s := range f.slices("big") {
		if len(s.Endpoints) > 100 {
			t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
		}
	}
	if n := endpointCount(f.slices("big")); n != 275 {
		t.Errorf("%d endpoints, want 275", n)
	}
}

func TestNoOpSyncsDoNotWrite(t *testing.T) {
	a := newPod("a", "web", "10.0.0.1")
	f := newFixture(t, newService("web"), newNode("n1", "z"), a, newPod("b", "web", "10.0.0.2", notReady), newPod("c", "web", "10.0.0.3", terminating))
	f.mustSync("web")
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("second sync wrote %v", got)
	}
	a = a.DeepCopy()
	a.Annotations = map[string]string{"note": "x"}
	f.update(a)
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync after an unrelated pod change wrote %v", got)
	}
}

func TestReadinessChangeUpdatesInPlace(t *testing.T) {
	a := newPod("a", "web", "10.0.0.1", notReady)
	f := newFixture(t, newService("web"), newNode("n1", ""), a)
	f.mustSync("web")
	name := f.slices("web")[0].Name
	a = a.DeepCopy()
	a.Status.Conditions[0].Status = corev1.ConditionTrue
	f.update(a)
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"update " + name}) {
		t.Errorf("writes %v", got)
	}
	if got := summaries(f.slices("web")[0]); !slices.Equal(got, []string{"a [10.0.0.1] ttf"}) {
		t.Errorf("endpoints %v", got)
	}
}

func TestSelectorChange(t *testing.T) {
	svc := newService("web")
	f := newFixture(t, svc, newNode("n1", ""), newPod("a", "web", "10.0.0.1"), newPod("b", "canary", "10.0.0.2"))
	f.mustSync("web")
	name := f.slices("web")[0].Name
	svc = svc.DeepCopy()
	svc.Spec.Selector = map[string]string{"app": "canary"}
	f.update(svc)
	f.mustSync("web")
	// The slice is reused rather than deleted and created.
	if got := f.writes(); !slices.Equal(got, []string{"update " + name}) {
		t.Errorf("writes %v, want an update of %s", got, name)
	}
	if got := summaries(f.slices("web")[0]); !slices.Equal(got, []string{"b [10.0.0.2] ttf"}) {
		t.Errorf("endpoints %v", got)
	}
}

func TestPlaceholderSlice(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", ""))
	f.mustSync("web")
	ss := f.slices("web")
	if len(ss) != 1 || len(ss[0].Endpoints) != 0 || len(ss[0].Ports) != 0 {
		t.Fatalf("slices %+v, want one empty placeholder", ss)
	}
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("placeholder rewritten: %v", got)
	}
	f.add(newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"update " + ss[0].Name}) {
		t.Errorf("writes %v, want the placeholder reused", got)
	}
	f.delete("pods", "a")
	f.mustSync("web")
	ss = f.slices("web")
	if len(ss) != 1 || len(ss[0].Endpoints) != 0 || len(ss[0].Ports) != 0 {
		t.Errorf("slices %+v, want the placeholder back", ss)
	}
}

func TestServiceDeletionDeletesSlices(t *testing.T) {
	user := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-user", Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "someone-else"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	objs := append([]runtime.Object{newService("web"), newNode("n1", ""), user}, manyPods("web", 150)...)
	f := newFixture(t, objs...)
	f.mustSync("web")
	if n := len(f.slices("web")); n != 3 {
		t.Fatalf("%d slices, want 2 and the user's", n)
	}
	f.delete("services", "web")
	f.mustSync("web")
	if got := f.writes(); len(got) != 2 || !strings.HasPrefix(got[0], "delete ") || !strings.HasPrefix(got[1], "delete ") {
		t.Errorf("writes %v, want two deletes", got)
	}
	if ss := f.slices("web"); len(ss) != 1 || ss[0].Name != "web-user" {
		t.Errorf("left %d slices, want the user's", len(ss))
	}
}

func TestUnmanagedServicesUntouched(t *testing.T) {
	user := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "manual-1", Namespace: ns, ResourceVersion: "3", Labels: map[string]string{
			discoveryv1.LabelServiceName: "manual", discoveryv1.LabelManagedBy: "staff"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}},
	}
	selectorless := newService("manual", func(s *corev1.Service) { s.Spec.Selector = nil })
	external := newService("ext", func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalName, s.Spec.ClusterIP, s.Spec.IPFamilies = corev1.ServiceTypeExternalName, "example.com", "", nil
	})
	f := newFixture(t, selectorless, external, user, newNode("n1", ""), newPod("a", "manual", "10.0.0.1"), newPod("b", "ext", "10.0.0.2"))
	for _, name := range []string{"manual", "ext"} {
		f.mustSync(name)
		if got := f.writes(); len(got) != 0 {
			t.Errorf("%s: writes %v", name, got)
		}
	}
	if ss := f.slices("manual"); len(ss) != 1 || !cmp.Equal(ss[0], user) {
		t.Errorf("user slices changed: %+v", ss)
	}
	if ss := f.slices("ext"); len(ss) != 0 {
		t.Errorf("ExternalName service got %d slices", len(ss))
	}
}

func TestSelectorRemovedDeletesManagedSlices(t *testing.T) {
	svc := newService("web")
	f := newFixture(t, svc, newNode("n1", ""), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	svc = svc.DeepCopy()
	svc.Spec.Selector = nil
	f.update(svc)
	f.mustSync("web")
	if ss := f.slices("web"); len(ss) != 0 {
		t.Errorf("%d managed slices left", len(ss))
	}
}

func TestSliceOfAReplacedServiceDeleted(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", ""), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	old := f.slices("web")[0]
	// The service is deleted and recreated under the same name before the
	// garbage collector removed the old slice.
	f.delete("services", "web")
	f.add(newService("web", func(s *corev1.Service) { s.UID = "web-uid-2" }))
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"create web-", "delete " + old.Name}) {
		t.Errorf("writes %v", got)
	}
	if ss := f.slices("web"); len(ss) != 1 || ss[0].OwnerReferences[0].UID != "web-uid-2" {
		t.Errorf("slices %+v", ss)
	}
}

func TestPodOnUnknownNodeLeftOut(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", ""),
		newPod("a", "web", "10.0.0.1"), newPod("b", "web", "10.0.0.2", func(p *corev1.Pod) { p.Spec.NodeName = "ghost" }))
	err := f.sync("web")
	if !errors.Is(err, errNodeNotFound) {
		t.Fatalf("sync: %v, want errNodeNotFound", err)
	}
	if got := summaries(f.slices("web")[0]); !slices.Equal(got, []string{"a [10.0.0.1] ttf"}) {
		t.Errorf("endpoints %v", got)
	}
	if got := f.events(); len(got) != 1 || !strings.HasPrefix(got[0], "Warning FailedToUpdateEndpointSlices") {
		t.Errorf("events %v", got)
	}
}

func TestStaleCacheDefersSync(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", ""), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	// The cache has not seen the create yet.
	f.check(f.factory.Discovery().V1().EndpointSlices().Informer().GetIndexer().Replace(nil, ""))
	f.client.ClearActions()
	if err := f.c.sync(context.Background(), ns+"/web"); !errors.Is(err, errStale) {
		t.Fatalf("sync on a stale cache: %v, want errStale", err)
	}
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync on a stale cache wrote %v", got)
	}
	f.mustSync("web")
	if got := f.writes(); len(got) != 0 {
		t.Errorf("sync on the fresh cache wrote %v", got)
	}
}

func TestWriteFailureRecordsEvent(t *testing.T) {
	f := newFixture(t, newService("web"), newNode("n1", ""), newPod("a", "web", "10.0.0.1"))
	f.client.PrependReactor("create", "endpointslices", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("boom"))
	})
	if err := f.sync("web"); err == nil {
		t.Fatal("sync succeeded")
	}
	if got := f.events(); len(got) != 1 || !strings.HasPrefix(got[0], "Warning FailedToUpdateEndpointSlices") {
		t.Errorf("events %v", got)
	}
}

func TestNamedPortOfSidecar(t *testing.T) {
	svc := newService("web", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("proxy") })
	sidecar := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001, Protocol: corev1.ProtocolTCP}}}}
	}
	f := newFixture(t, svc, newNode("n1", ""), newPod("a", "web", "10.0.0.1", sidecar))
	f.mustSync("web")
	if got := portList(f.slices("web")[0]); !slices.Equal(got, []string{"http:15001"}) {
		t.Errorf("ports %v", got)
	}
}

func TestServiceLabelsFollowed(t *testing.T) {
	svc := newService("web")
	f := newFixture(t, svc, newNode("n1", ""), newPod("a", "web", "10.0.0.1"))
	f.mustSync("web")
	name := f.slices("web")[0].Name
	svc = svc.DeepCopy()
	svc.Labels = map[string]string{"team": "b", discoveryv1.LabelManagedBy: "not-allowed"}
	f.update(svc)
	f.mustSync("web")
	if got := f.writes(); !slices.Equal(got, []string{"update " + name}) {
		t.Errorf("writes %v", got)
	}
	want := map[string]string{"team": "b", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: managedBy}
	if got := f.slices("web")[0].Labels; !cmp.Equal(got, want) {
		t.Errorf("labels %v", got)
	}
}
