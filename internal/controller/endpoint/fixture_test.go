package endpoint

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// newClient returns a fake clientset that, as the API server, gives the
// Endpoints it stores a new resource version on every write.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewSimpleClientset(objs...)
	var rv atomic.Int64
	rv.Store(100)
	for _, verb := range []string{"create", "update"} {
		client.PrependReactor(verb, "endpoints", func(a clienttesting.Action) (bool, runtime.Object, error) {
			ep := a.(interface{ GetObject() runtime.Object }).GetObject().(*corev1.Endpoints).DeepCopy()
			ep.ResourceVersion = strconv.FormatInt(rv.Add(1), 10)
			gvr := corev1.SchemeGroupVersion.WithResource("endpoints")
			var err error
			if verb == "create" {
				err = client.Tracker().Create(gvr, ep, ep.Namespace)
			} else {
				err = client.Tracker().Update(gvr, ep, ep.Namespace)
			}
			if err != nil {
				return true, nil, err
			}
			return true, ep, nil
		})
	}
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
	eps, err := f.client.CoreV1().Endpoints("").List(ctx, metav1.ListOptions{})
	f.check(err)
	controllertest.Replace(f.t, f.factory.Core().V1().Services().Informer(), controllertest.ListOf(svcs.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Pods().Informer(), controllertest.ListOf(pods.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Endpoints().Informer(), controllertest.ListOf(eps.Items))
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
// again; the actions it recorded are those of the sync.
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

// writes returns the verbs of the writes to Endpoints in the last sync.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetResource().Resource == "endpoints" && a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

func (f *fixture) endpoints(name string) *corev1.Endpoints {
	f.t.Helper()
	ep, err := f.client.CoreV1().Endpoints(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return ep
}

func (f *fixture) update(o runtime.Object) {
	f.t.Helper()
	var gvr = map[string]string{"*v1.Pod": "pods", "*v1.Service": "services", "*v1.Endpoints": "endpoints"}[fmt.Sprintf("%T", o)]
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
			Ports:      []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

// newPod returns a running, ready pod with the label app=app on node n1.
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

func notReady(p *corev1.Pod) {
	p.Status.Conditions[0].Status = corev1.ConditionFalse
}

func terminating(p *corev1.Pod) {
	now := metav1.NewTime(t0.Add(time.Hour))
	p.DeletionTimestamp = &now
}

// webPort gives the pod's container port "web" the number n.
func webPort(n int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = n }
}

func namedTarget(svc *corev1.Service) {
	svc.Spec.Ports[0].TargetPort = intstr.FromString("web")
}

// ips returns the IPs of addresses.
func ips(addrs []corev1.EndpointAddress) []string {
	out := []string{}
	for _, a := range addrs {
		out = append(out, a.IP)
	}
	return out
}

// describe renders subsets compactly: "ready|notready|ports" per subset.
func describe(subsets []corev1.EndpointSubset) []string {
	out := []string{}
	for _, ss := range subsets {
		var ports []string
		for _, p := range ss.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
		}
		out = append(out, fmt.Sprintf("%v|%v|%v", ips(ss.Addresses), ips(ss.NotReadyAddresses), ports))
	}
	return out
}
