package replicaset

import (
	"context"
	"fmt"
	"log/slog"
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
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

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

// fixture is a controller over a fake clientset whose informer caches the
// test fills by hand, so each sync sees exactly what the test put there.
type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	c       *Controller
	rec     *record.FakeRecorder
	clock   *fakeClock
	created *nameLog
	// lastCreated are the pods created by the last sync.
	lastCreated []string
}

func newFixture(t *testing.T, rc bool, objs ...runtime.Object) *fixture {
	t.Helper()
	client, created := newClient(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	log := slog.New(slog.DiscardHandler)
	c := New(client, factory, log)
	if rc {
		c = NewReplicationManager(client, factory, log)
	}
	f := &fixture{t: t, client: client, factory: factory, c: c, rec: record.NewFakeRecorder(1000), clock: &fakeClock{t: t0}, created: created}
	c.recorder = f.rec
	c.now = f.clock.Now
	c.exp = expectations.New(f.clock.Now)
	for _, o := range objs {
		f.cache(o)
	}
	return f
}

// newClient returns a fake clientset that names pods created with a
// generateName, as the API server would.
func newClient(objs ...runtime.Object) (*fake.Clientset, *nameLog) {
	client := fake.NewSimpleClientset(objs...)
	created := &nameLog{}
	var seq atomic.Int64
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		pod := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, seq.Add(1))
		}
		pod.UID = types.UID(pod.Name + "-uid")
		if err := client.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		created.add(pod.Name)
		return true, pod, nil
	})
	// Status updates change only the status, as the status subresource does.
	client.PrependReactor("update", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" {
			return false, nil, nil
		}
		obj := a.(clienttesting.UpdateAction).GetObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		cur, err := client.Tracker().Get(a.GetResource(), a.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		switch o := obj.(type) {
		case *appsv1.ReplicaSet:
			c := cur.(*appsv1.ReplicaSet).DeepCopy()
			c.Status = o.Status
			cur = c
		case *corev1.ReplicationController:
			c := cur.(*corev1.ReplicationController).DeepCopy()
			c.Status = o.Status
			cur = c
		default:
			return false, nil, nil
		}
		if err := client.Tracker().Update(a.GetResource(), cur, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, cur, nil
	})
	return client, created
}

// nameLog records the names of created pods.
type nameLog struct {
	mu    sync.Mutex
	names []string
}

func (l *nameLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

// take returns the names recorded since the last take.
func (l *nameLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.names
	l.names = nil
	return out
}

func cacheTombstone(p *corev1.Pod) cache.DeletedFinalStateUnknown {
	return cache.DeletedFinalStateUnknown{Key: podKey(p), Obj: p}
}

// cache puts an object into the informer cache (not the API).
func (f *fixture) cache(o runtime.Object) {
	f.t.Helper()
	var inf cache.SharedIndexInformer
	switch o.(type) {
	case *corev1.Pod:
		inf = f.factory.Core().V1().Pods().Informer()
	case *appsv1.ReplicaSet:
		inf = f.factory.Apps().V1().ReplicaSets().Informer()
	case *corev1.ReplicationController:
		inf = f.factory.Core().V1().ReplicationControllers().Informer()
	default:
		f.t.Fatalf("cache: unexpected %T", o)
	}
	if err := inf.GetIndexer().Update(o); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sync(key string) (time.Duration, error) {
	f.t.Helper()
	f.client.ClearActions()
	f.created.take()
	defer func() { f.lastCreated = f.created.take() }()
	return f.c.sync(context.Background(), key)
}

func (f *fixture) mustSync(key string) time.Duration {
	f.t.Helper()
	next, err := f.sync(key)
	if err != nil {
		f.t.Fatalf("sync %s: %v", key, err)
	}
	return next
}

// actions returns the client actions of the last sync with the verb on
// the resource (and subresource, if given).
func (f *fixture) actions(verb, resource string, sub ...string) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range f.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && (len(sub) == 0 || a.GetSubresource() == sub[0]) {
			out = append(out, a)
		}
	}
	return out
}

// createdPods returns the pods created in the last sync, in the API.
func (f *fixture) createdPods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, name := range f.lastCreated {
		p, err := f.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func (f *fixture) deletedNames() []string {
	var out []string
	for _, a := range f.actions("delete", "pods") {
		out = append(out, a.(clienttesting.DeleteAction).GetName())
	}
	return out
}

// events drains the recorded events.
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

// observeCreated puts the pods created by the last sync into the cache
// and tells the controller, as the informer would.
func (f *fixture) observeCreated() []*corev1.Pod {
	pods := f.createdPods()
	for _, p := range pods {
		f.cache(p)
		f.c.onPodAdd(p)
	}
	return pods
}

func (f *fixture) getRS(name string) *appsv1.ReplicaSet {
	f.t.Helper()
	rs, err := f.client.AppsV1().ReplicaSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func newRS(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), Generation: 1, ResourceVersion: "1"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name, "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

func newRC(name string, replicas int32) *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), Generation: 1, ResourceVersion: "1"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: map[string]string{"app": name},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

// newPod returns a running pod with the app label of owner, controlled by
// owner unless it is nil (an orphan), created at t0 - age.
func newPod(name, app string, owner metav1.Object, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID(name + "-uid"), ResourceVersion: "1",
			Labels:            map[string]string{"app": app, "tier": "web"},
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
		},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if owner != nil {
		kind := "ReplicaSet"
		gv := appsv1.SchemeGroupVersion
		if _, ok := owner.(*corev1.ReplicationController); ok {
			kind, gv = "ReplicationController", corev1.SchemeGroupVersion
		}
		p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, gv.WithKind(kind))}
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func readySince(t time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t),
		})
	}
}

func onNode(n string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = n } }

func inPhase(ph corev1.PodPhase) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}

func createdAt(t time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t) }
}

func restarts(n int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "c", RestartCount: n})
	}
}

func deletionCostOf(v string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{deletionCostAnnotation: v} }
}

func podNames(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}
