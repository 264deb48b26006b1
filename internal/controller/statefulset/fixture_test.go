package statefulset

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/controller/controllertest"
	"github.com/skiff/skiff/internal/controller/expectations"
)

const ns = "default"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

var (
	podsGVR   = corev1.SchemeGroupVersion.WithResource("pods")
	claimsGVR = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	setsGVR   = appsv1.SchemeGroupVersion.WithResource("statefulsets")
)

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
	// requeue is what the last sync asked for.
	requeue time.Duration
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

// newClient returns a fake clientset that, as the API server does, gives
// created pods and claims a UID and creation time (pods a Pending phase),
// raises a StatefulSet's generation when its spec changes, and changes
// only the status on status updates.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objs...)
	var seq atomic.Int64
	client.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(clienttesting.CreateAction).GetObject().DeepCopyObject()
		m, ok := obj.(metav1.Object)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		n := seq.Add(1)
		m.SetUID(types.UID(fmt.Sprintf("%s-uid-%d", m.GetName(), n)))
		m.SetCreationTimestamp(metav1.NewTime(t0.Add(time.Duration(n) * time.Second)))
		if p, ok := obj.(*corev1.Pod); ok {
			p.Status.Phase = corev1.PodPending
		}
		if err := client.Tracker().Create(a.GetResource(), obj, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
	client.PrependReactor("update", "statefulsets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(clienttesting.UpdateAction).GetObject().(*appsv1.StatefulSet)
		cur, err := client.Tracker().Get(a.GetResource(), a.GetNamespace(), obj.Name)
		if err != nil {
			return true, nil, err
		}
		set := cur.(*appsv1.StatefulSet).DeepCopy()
		if a.GetSubresource() == "status" {
			set.Status = obj.Status
		} else {
			set.Spec, set.Labels, set.Annotations = obj.Spec, obj.Labels, obj.Annotations
			set.Generation++
		}
		if err := client.Tracker().Update(a.GetResource(), set, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, set, nil
	})
	return client
}

// refresh replaces the informer caches with the objects in the fake API.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	pods, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	f.check(err)
	claims, err := f.client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	f.check(err)
	sets, err := f.client.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
	f.check(err)
	revs, err := f.client.AppsV1().ControllerRevisions("").List(ctx, metav1.ListOptions{})
	f.check(err)
	controllertest.Replace(f.t, f.factory.Core().V1().Pods().Informer(), controllertest.ListOf(pods.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().PersistentVolumeClaims().Informer(), controllertest.ListOf(claims.Items))
	controllertest.Replace(f.t, f.factory.Apps().V1().StatefulSets().Informer(), controllertest.ListOf(sets.Items))
	controllertest.Replace(f.t, f.factory.Apps().V1().ControllerRevisions().Informer(), controllertest.ListOf(revs.Items))
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// sync refreshes the caches, runs one sync of the set and refreshes again.
// Expectations are cleared first, as if the informer had reported
// everything the previous sync did.
func (f *fixture) sync(name string) error {
	f.t.Helper()
	f.refresh()
	f.c.exp.Forget(ns + "/" + name)
	f.client.ClearActions()
	var err error
	f.requeue, err = f.c.sync(context.Background(), ns+"/"+name)
	f.refresh()
	return err
}

func (f *fixture) mustSync(name string) {
	f.t.Helper()
	if err := f.sync(name); err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
}

// actions returns the actions of the last sync on resource with the verb
// ("" for any), leaving out subresources.
func (f *fixture) actions(verb, resource string) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range f.client.Actions() {
		if (verb == "" || a.GetVerb() == verb) && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			out = append(out, a)
		}
	}
	return out
}

// writes returns the calls of the last sync that change something.
func (f *fixture) writes() []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range f.client.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			out = append(out, a)
		}
	}
	return out
}

// created returns the names of the objects of resource the last sync
// created, in order.
func (f *fixture) created(resource string) []string {
	var out []string
	for _, a := range f.actions("create", resource) {
		out = append(out, a.(clienttesting.CreateAction).GetObject().(metav1.Object).GetName())
	}
	return out
}

// deleted returns the names of the objects of resource the last sync
// deleted, sorted.
func (f *fixture) deleted(resource string) []string {
	var out []string
	for _, a := range f.actions("delete", resource) {
		out = append(out, a.(clienttesting.DeleteAction).GetName())
	}
	slices.Sort(out)
	return out
}

// pods returns the pods in the API by name.
func (f *fixture) pods() map[string]*corev1.Pod {
	list, err := f.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	f.check(err)
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

func (f *fixture) podNames() []string {
	var out []string
	for name := range f.pods() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) pod(name string) *corev1.Pod {
	f.t.Helper()
	p, err := f.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return p
}

func (f *fixture) claim(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c, err := f.client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return c
}

func (f *fixture) claimNames() []string {
	list, err := f.client.CoreV1().PersistentVolumeClaims(ns).List(context.Background(), metav1.ListOptions{})
	f.check(err)
	var out []string
	for _, c := range list.Items {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}

// setPhase gives the named pods the phase, ready (since t0) if running.
func (f *fixture) setPhase(phase corev1.PodPhase, names ...string) {
	f.t.Helper()
	for _, name := range names {
		p := f.pod(name)
		p.Spec.NodeName = "n1"
		p.Status.Phase = phase
		p.Status.Conditions = nil
		if phase == corev1.PodRunning {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
		}
		f.check(f.client.Tracker().Update(podsGVR, p, ns))
	}
}

// ready makes the named pods running and ready.
func (f *fixture) ready(names ...string) { f.setPhase(corev1.PodRunning, names...) }

// readyAll makes every pod running and ready.
func (f *fixture) readyAll() { f.ready(f.podNames()...) }

// terminating marks the pod as being deleted, as a graceful deletion does.
func (f *fixture) terminating(name string) {
	p := f.pod(name)
	p.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	f.check(f.client.Tracker().Update(podsGVR, p, ns))
}

func (f *fixture) deletePod(name string) {
	f.t.Helper()
	f.check(f.client.Tracker().Delete(podsGVR, ns, name))
}

func (f *fixture) getSet(name string) *appsv1.StatefulSet {
	f.t.Helper()
	set, err := f.client.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return set
}

// updateSet changes the spec of the set as a client would.
func (f *fixture) updateSet(name string, mutate func(*appsv1.StatefulSet)) {
	f.t.Helper()
	set := f.getSet(name)
	mutate(set)
	_, err := f.client.AppsV1().StatefulSets(ns).Update(context.Background(), set, metav1.UpdateOptions{})
	f.check(err)
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

// newSet returns a StatefulSet as the API server stores it after
// defaulting: OrderedReady, RollingUpdate with partition 0, claims kept.
func newSet(name string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(name + "-uid"), Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name + "-svc",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
			},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)},
			},
			RevisionHistoryLimit: ptr.To[int32](10),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
}

func parallel(set *appsv1.StatefulSet) *appsv1.StatefulSet {
	set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	return set
}

// withClaims gives the set a claim template named data, labelled
// tier=db.
func withClaims(set *appsv1.StatefulSet) *appsv1.StatefulSet {
	set.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		},
	}}
	return set
}

// rollTo changes the set's image.
func (f *fixture) rollTo(name, image string) {
	f.t.Helper()
	f.updateSet(name, func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = image })
}

// image is the image of a pod's container.
func (f *fixture) image(pod string) string { return f.pod(pod).Spec.Containers[0].Image }

// rolloutStatus judges the set as kubectl rollout status does for a
// StatefulSet (kubectl v1.32 StatefulSetStatusViewer).
func rolloutStatus(set *appsv1.StatefulSet) (msg string, done bool) {
	if set.Status.ObservedGeneration == 0 || set.Generation > set.Status.ObservedGeneration {
		return "waiting for spec update to be observed", false
	}
	if set.Spec.Replicas != nil && set.Status.ReadyReplicas < *set.Spec.Replicas {
		return fmt.Sprintf("waiting for %d pods to be ready", *set.Spec.Replicas-set.Status.ReadyReplicas), false
	}
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if set.Spec.Replicas != nil && ru.Partition != nil && set.Status.UpdatedReplicas < *set.Spec.Replicas-*ru.Partition {
			return fmt.Sprintf("partitioned roll out: %d of %d updated", set.Status.UpdatedReplicas, *set.Spec.Replicas-*ru.Partition), false
		}
		return "partitioned roll out complete", true
	}
	if set.Status.UpdateRevision != set.Status.CurrentRevision {
		return "waiting for rolling update to complete", false
	}
	return "rolling update complete", true
}
