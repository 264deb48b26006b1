package endpointslice

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller/controllertest"
)

const ns = "default"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

var sliceGVR = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")

// fixture is a controller over a fake clientset whose informer caches are
// filled from the fake API by refresh, so each sync sees exactly the
// state the test arranged.
type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	c       *Controller
	rec     *record.FakeRecorder
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := newClient(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	f := &fixture{t: t, client: client, factory: factory, c: c, rec: record.NewFakeRecorder(100)}
	c.recorder = f.rec
	f.refresh()
	return f
}

// newClient returns a fake clientset that stores EndpointSlices as the
// API server does: names generated, a UID, a new resource version on every
// write, and a generation bumped when the content changes.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewSimpleClientset(objs...)
	var seq atomic.Int64
	client.PrependReactor("create", "endpointslices", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice).DeepCopy()
		n := seq.Add(1)
		if s.Name == "" {
			s.Name = fmt.Sprintf("%s%05d", s.GenerateName, n)
		}
		s.UID = types.UID(s.Name + "-uid")
		s.Generation, s.ResourceVersion = 1, strconv.FormatInt(n, 10)
		if err := client.Tracker().Create(sliceGVR, s, s.Namespace); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	client.PrependReactor("update", "endpointslices", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.UpdateAction).GetObject().(*discoveryv1.EndpointSlice).DeepCopy()
		obj, err := client.Tracker().Get(sliceGVR, s.Namespace, s.Name)
		if err != nil {
			return true, nil, err
		}
		old := obj.(*discoveryv1.EndpointSlice)
		s.UID, s.Generation, s.ResourceVersion = old.UID, old.Generation, strconv.FormatInt(seq.Add(1), 10)
		if !equality.Semantic.DeepEqual(s.Endpoints, old.Endpoints) || !equality.Semantic.DeepEqual(s.Ports, old.Ports) ||
			!equality.Semantic.DeepEqual(s.Labels, old.Labels) {
			s.Generation++
		}
		if err := client.Tracker().Update(sliceGVR, s, s.Namespace); err != nil {
			return true, nil, err
		}
		return true, s, nil
	})
	return client
}

// refresh replaces the informer caches with the objects in the fake API
// and the selector cache with the services'.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	svcs, err := f.client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	f.check(err)
	pods, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	f.check(err)
	nodes, err := f.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	f.check(err)
	ss, err := f.client.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	f.check(err)
	controllertest.Replace(f.t, f.factory.Core().V1().Services().Informer(), controllertest.ListOf(svcs.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Pods().Informer(), controllertest.ListOf(pods.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Nodes().Informer(), controllertest.ListOf(nodes.Items))
	controllertest.Replace(f.t, f.factory.Discovery().V1().EndpointSlices().Informer(), controllertest.ListOf(ss.Items))
	for i := range svcs.Items {
		f.c.selectors.Set(&svcs.Items[i])
	}
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// sync refreshes the caches, runs one sync of the service and refreshes
// again; the actions recorded are those of the sync.
func (f *fixture) sync(name string) error {
	f.t.Helper()
	f.refresh()
	f.client.ClearActions()
	err := f.c.sync(context.Background(), ns+"/"+name)
	f.refresh()
	return err
}

func (f *fixture) mustSync(name string) {
	f.t.Helper()
	if err := f.sync(name); err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
}

// writes returns the writes to EndpointSlices in the last sync, as
// "verb name" (the generateName for creates).
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetResource().Resource != "endpointslices" {
			continue
		}
		switch a.GetVerb() {
		case "create":
			out = append(out, "create "+a.(clienttesting.CreateAction).GetObject().(*discoveryv1.EndpointSlice).GenerateName)
		case "update":
			out = append(out, "update "+a.(clienttesting.UpdateAction).GetObject().(*discoveryv1.EndpointSlice).Name)
		case "delete":
			out = append(out, "delete "+a.(clienttesting.DeleteAction).GetName())
		}
	}
	slices.Sort(out)
	return out
}

// slices returns the service's slices in the API, by name.
func (f *fixture) slices(svc string) []*discoveryv1.EndpointSlice {
	f.t.Helper()
	list, err := f.client.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{})
	f.check(err)
	var out []*discoveryv1.EndpointSlice
	for i := range list.Items {
		if list.Items[i].Labels[discoveryv1.LabelServiceName] == svc {
			out = append(out, &list.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (f *fixture) add(o runtime.Object) {
	f.t.Helper()
	f.check(f.client.Tracker().Add(o))
}

func (f *fixture) update(o runtime.Object) {
	f.t.Helper()
	var gvr = map[string]string{"*v1.Pod": "pods", "*v1.Service": "services"}[fmt.Sprintf("%T", o)]
	f.check(f.client.Tracker().Update(corev1.SchemeGroupVersion.WithResource(gvr), o, ns))
}

func (f *fixture) delete(resource, name string) {
	f.t.Helper()
	f.check(f.client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource(resource), ns, name))
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func newService(name string, mods ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), CreationTimestamp: metav1.NewTime(t0),
			Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": name},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")}},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

func newNode(name, zone string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if zone != "" {
		n.Labels[corev1.LabelTopologyZone] = zone
	}
	return n
}

// newPod returns a running, ready pod with the label app=app on node n1,
// whose container port "web" is 8080.
func newPod(name, app, ip string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "busybox:1",
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))}},
		},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

// manyPods returns n ready pods of app named <app>-NNN.
func manyPods(app string, n int) []runtime.Object {
	var out []runtime.Object
	for i := range n {
		out = append(out, newPod(fmt.Sprintf("%s-%03d", app, i), app, fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)))
	}
	return out
}

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }

func terminating(p *corev1.Pod) {
	now := metav1.NewTime(t0.Add(time.Hour))
	p.DeletionTimestamp = &now
}

func webPort(n int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
}

// summary renders an endpoint as "pod ip ready/serving/terminating".
func summary(ep discoveryv1.Endpoint) string {
	b := func(p *bool) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatBool(*p)[:1]
	}
	c := ep.Conditions
	return fmt.Sprintf("%s %v %s%s%s", ep.TargetRef.Name, ep.Addresses, b(c.Ready), b(c.Serving), b(c.Terminating))
}

func summaries(s *discoveryv1.EndpointSlice) []string {
	out := []string{}
	for _, ep := range s.Endpoints {
		out = append(out, summary(ep))
	}
	slices.Sort(out)
	return out
}

// portList renders a slice's ports as "name:port".
func portList(s *discoveryv1.EndpointSlice) []string {
	out := []string{}
	for _, p := range s.Ports {
		out = append(out, fmt.Sprintf("%s:%d", deref(p.Name), deref(p.Port)))
	}
	slices.Sort(out)
	return out
}

// endpointCount returns the number of endpoints in all the slices.
func endpointCount(ss []*discoveryv1.EndpointSlice) int {
	n := 0
	for _, s := range ss {
		n += len(s.Endpoints)
	}
	return n
}
