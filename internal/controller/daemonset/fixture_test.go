package daemonset

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller/controllertest"
	"github.com/skiff/skiff/internal/controller/expectations"
)

const ns = "default"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a controller over a fake clientset. Its informer caches are
// filled from the fake API by refresh, so each sync sees exactly the state
// the test arranged.
type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	c       *Controller
	rec     *record.FakeRecorder
	clock   *fakeClock
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := newClient(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	f := &fixture{t: t, client: client, factory: factory, c: c, rec: record.NewFakeRecorder(1000), clock: &fakeClock{t: t0}}
	c.recorder = f.rec
	c.now = f.clock.Now
	c.exp = expectations.New(f.clock.Now)
	f.refresh()
	return f
}

// newClient returns a fake clientset that names pods created with a
// generateName, as the API server would, and whose status updates change
// only the status.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewSimpleClientset(objs...)
	var seq atomic.Int64
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		pod := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, seq.Add(1))
		}
		pod.UID = types.UID(pod.Name + "-uid")
		pod.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(seq.Add(1)) * time.Second))
		if err := client.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, pod, nil
	})
	client.PrependReactor("update", "daemonsets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" {
			return false, nil, nil
		}
		obj := a.(clienttesting.UpdateAction).GetObject().(*appsv1.DaemonSet)
		cur, err := client.Tracker().Get(a.GetResource(), a.GetNamespace(), obj.Name)
		if err != nil {
			return true, nil, err
		}
		ds := cur.(*appsv1.DaemonSet).DeepCopy()
		ds.Status = obj.Status
		if err := client.Tracker().Update(a.GetResource(), ds, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, ds, nil
	})
	return client
}

// refresh replaces the informer caches with the objects in the fake API.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	pods, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	f.check(err)
	nodes, err := f.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	f.check(err)
	dss, err := f.client.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	f.check(err)
	revs, err := f.client.AppsV1().ControllerRevisions("").List(ctx, metav1.ListOptions{})
	f.check(err)
	controllertest.Replace(f.t, f.factory.Core().V1().Pods().Informer(), controllertest.ListOf(pods.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Nodes().Informer(), controllertest.ListOf(nodes.Items))
	controllertest.Replace(f.t, f.factory.Apps().V1().DaemonSets().Informer(), controllertest.ListOf(dss.Items))
	controllertest.Replace(f.t, f.factory.Apps().V1().ControllerRevisions().Informer(), controllertest.ListOf(revs.Items))
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// sync refreshes the caches, runs one sync of ds and refreshes again.
// Expectations are cleared first, as if the informer had reported
// everything the previous sync did.
func (f *fixture) sync(name string) error {
	f.t.Helper()
	f.refresh()
	f.c.exp.Forget(ns + "/" + name)
	f.client.ClearActions()
	_, err := f.c.sync(context.Background(), ns+"/"+name)
	f.refresh()
	return err
}

func (f *fixture) mustSync(name string) {
	f.t.Helper()
	if err := f.sync(name); err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
}

func (f *fixture) actions(verb, resource string) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			out = append(out, a)
		}
	}
	return out
}

// createdNodes returns the nodes the pods created in the last sync are
// pinned to, sorted.
func (f *fixture) createdNodes() []string {
	var out []string
	for _, a := range f.actions("create", "pods") {
		out = append(out, pinnedNode(a.(clienttesting.CreateAction).GetObject().(*corev1.Pod)))
	}
	sort.Strings(out)
	return out
}

func (f *fixture) deletedPods() []string {
	var out []string
	for _, a := range f.actions("delete", "pods") {
		out = append(out, a.(clienttesting.DeleteAction).GetName())
	}
	sort.Strings(out)
	return out
}

// pods returns the pods in the API by node.
func (f *fixture) pods() map[string][]*corev1.Pod {
	list, err := f.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	f.check(err)
	out := map[string][]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		out[pinnedNode(p)] = append(out[pinnedNode(p)], p)
	}
	return out
}

// schedule binds every pod to the node it is pinned to and makes it
// running and ready since t.
func (f *fixture) schedule(t time.Time) {
	for node, pods := range f.pods() {
		for _, p := range pods {
			if p.Spec.NodeName != "" {
				continue
			}
			p.Spec.NodeName = node
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t)}}
			f.update(p)
		}
	}
}

func (f *fixture) update(o runtime.Object) {
	f.t.Helper()
	m, err := meta.Accessor(o)
	f.check(err)
	var gvr = map[string]string{"*v1.Pod": "pods", "*v1.Node": "nodes", "*v1.DaemonSet": "daemonsets"}[fmt.Sprintf("%T", o)]
	var gv = corev1.SchemeGroupVersion
	if gvr == "daemonsets" {
		gv = appsv1.SchemeGroupVersion
	}
	f.check(f.client.Tracker().Update(gv.WithResource(gvr), o, m.GetNamespace()))
}

func (f *fixture) getDS(name string) *appsv1.DaemonSet {
	f.t.Helper()
	ds, err := f.client.AppsV1().DaemonSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return ds
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

func newDS(name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(name + "-uid"), Generation: 1,
			Annotations: map[string]string{appsv1.DeprecatedTemplateGeneration: "1"},
		},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
		},
	}
}

func newNode(name string, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, m := range mods {
		m(n)
	}
	return n
}

func labelled(k, v string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Labels[k] = v }
}

func tainted(key string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}
