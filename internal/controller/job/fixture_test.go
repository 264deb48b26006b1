package job

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
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
// test fills by hand from the API (refresh), so each sync sees exactly
// what the test put there.
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
// generateName and whose status updates change only the status.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewSimpleClientset(objs...)
	var seq atomic.Int64
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		pod := a.(clienttesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, seq.Add(1))
		}
		pod.UID = types.UID(pod.Name + "-uid")
		pod.CreationTimestamp = metav1.NewTime(t0)
		if err := client.Tracker().Create(corev1.SchemeGroupVersion.WithResource("pods"), pod, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, pod, nil
	})
	// Deletes of pods set a deletion timestamp, as with a grace period.
	client.PrependReactor("delete", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gvr := corev1.SchemeGroupVersion.WithResource("pods")
		obj, err := client.Tracker().Get(gvr, a.GetNamespace(), a.(clienttesting.DeleteAction).GetName())
		if err != nil {
			return true, nil, err
		}
		p := obj.(*corev1.Pod).DeepCopy()
		now := metav1.NewTime(t0)
		p.DeletionTimestamp = &now
		return true, nil, client.Tracker().Update(gvr, p, a.GetNamespace())
	})
	client.PrependReactor("update", "jobs", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "status" {
			return false, nil, nil
		}
		j := a.(clienttesting.UpdateAction).GetObject().(*batchv1.Job)
		gvr := batchv1.SchemeGroupVersion.WithResource("jobs")
		cur, err := client.Tracker().Get(gvr, a.GetNamespace(), j.Name)
		if err != nil {
			return true, nil, err
		}
		c := cur.(*batchv1.Job).DeepCopy()
		c.Status = j.Status
		return true, c, client.Tracker().Update(gvr, c, a.GetNamespace())
	})
	return client
}

// refresh copies every Job and pod of the API into the informer caches.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	jobs, err := f.client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	pods, err := f.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	replace := func(inf cache.SharedIndexInformer, objs []any) {
		if err := inf.GetIndexer().Replace(objs, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	var js, ps []any
	for i := range jobs.Items {
		js = append(js, &jobs.Items[i])
	}
	for i := range pods.Items {
		ps = append(ps, &pods.Items[i])
	}
	replace(f.factory.Batch().V1().Jobs().Informer(), js)
	replace(f.factory.Core().V1().Pods().Informer(), ps)
	f.c.exp = expectations.New(f.clock.Now) // the cache now shows every create and delete
}

// sync refreshes the caches and syncs the Job.
func (f *fixture) sync(name string) time.Duration {
	f.t.Helper()
	f.refresh()
	f.client.ClearActions()
	next, err := f.c.sync(context.Background(), ns+"/"+name)
	if err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
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

func (f *fixture) job(name string) *batchv1.Job {
	f.t.Helper()
	j, err := f.client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

func (f *fixture) updateJob(j *batchv1.Job) {
	f.t.Helper()
	if _, err := f.client.BatchV1().Jobs(ns).Update(context.Background(), j, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// pods returns the Job's pods in the API that are not being deleted.
func (f *fixture) pods() []*corev1.Pod {
	f.t.Helper()
	list, err := f.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*corev1.Pod
	for i := range list.Items {
		if p := &list.Items[i]; p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func (f *fixture) running() []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range f.pods() {
		if isActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// finish moves a pod to a terminal phase, finished at the clock's time.
func (f *fixture) finish(p *corev1.Pod, phase corev1.PodPhase, exitCode int32) {
	f.t.Helper()
	p = p.DeepCopy()
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, FinishedAt: metav1.NewTime(f.clock.Now())},
	}}}
	if _, err := f.client.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// removeDeleted drops pods with a deletion timestamp, as the kubelet
// would once they stopped.
func (f *fixture) removeDeleted() {
	f.t.Helper()
	list, _ := f.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			gvr := corev1.SchemeGroupVersion.WithResource("pods")
			if err := f.client.Tracker().Delete(gvr, ns, p.Name); err != nil {
				f.t.Fatal(err)
			}
		}
	}
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

// newJob returns a Job as the API server stores it: defaulted, with the
// generated selector and template labels.
func newJob(name string, completions, parallelism *int32, mods ...func(*batchv1.Job)) *batchv1.Job {
	uid := types.UID(name + "-uid")
	lbls := map[string]string{
		batchv1.ControllerUidLabel: string(uid), batchv1.JobNameLabel: name,
		"controller-uid": string(uid), "job-name": name,
	}
	mode := batchv1.NonIndexedCompletion
	policy := batchv1.TerminatingOrFailed
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: uid, ResourceVersion: "1"},
		Spec: batchv1.JobSpec{
			Completions: completions, Parallelism: parallelism, BackoffLimit: ptr[int32](6),
			CompletionMode: &mode, Suspend: ptr(false), PodReplacementPolicy: &policy,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(uid)}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func hasCondition(j *batchv1.Job, t batchv1.JobConditionType, reason string) bool {
	c := findCondition(j.Status.Conditions, t)
	return c != nil && c.Status == corev1.ConditionTrue && c.Reason == reason
}
