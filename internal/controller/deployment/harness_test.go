package deployment

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// harness runs the controller against a fake clientset, one sync at a
// time: before each sync the listers are loaded from the fake, and the test
// plays the ReplicaSet controller by writing ReplicaSet status.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	clock  *clocktesting.FakeClock
	events *record.FakeRecorder
	infs   map[string]cache.SharedIndexInformer
	n      int
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(t0),
		events: record.NewFakeRecorder(1000)}
	h.client.PrependReactor("create", "*", h.stamp)
	factory := informers.NewSharedInformerFactory(h.client, 0)
	h.c = New(h.client, factory, slog.New(slog.DiscardHandler))
	h.c.clock, h.c.recorder = h.clock, h.events
	h.infs = map[string]cache.SharedIndexInformer{
		"deployments": factory.Apps().V1().Deployments().Informer(),
		"replicasets": factory.Apps().V1().ReplicaSets().Informer(),
		"pods":        factory.Core().V1().Pods().Informer(),
	}
	t.Cleanup(h.c.queue.ShutDown)
	return h
}

// stamp gives created objects what the API server would: a UID, a
// creation time (later for each) and generation 1.
func (h *harness) stamp(a k8stesting.Action) (bool, runtime.Object, error) {
	m, err := meta.Accessor(a.(k8stesting.CreateAction).GetObject())
	if err != nil {
		return false, nil, nil
	}
	h.n++
	if m.GetUID() == "" {
		m.SetUID(types.UID(fmt.Sprintf("uid-%d", h.n)))
	}
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.NewTime(h.clock.Now().Add(time.Duration(h.n) * time.Millisecond)))
	}
	if m.GetGeneration() == 0 {
		m.SetGeneration(1)
	}
	return false, nil, nil
}

// refresh loads the listers from the fake clientset.
func (h *harness) refresh() {
	h.t.Helper()
	ctx := context.Background()
	ds, err := h.client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	rss, _ := h.client.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{})
	pods, _ := h.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	var objs []interface{}
	for i := range ds.Items {
		objs = append(objs, &ds.Items[i])
	}
	_ = h.infs["deployments"].GetIndexer().Replace(objs, "")
	objs = nil
	for i := range rss.Items {
		objs = append(objs, &rss.Items[i])
	}
	_ = h.infs["replicasets"].GetIndexer().Replace(objs, "")
	objs = nil
	for i := range pods.Items {
		objs = append(objs, &pods.Items[i])
	}
	_ = h.infs["pods"].GetIndexer().Replace(objs, "")
}

func (h *harness) syncErr(name string) error {
	h.t.Helper()
	h.refresh()
	return h.c.syncDeployment(context.Background(), "default/"+name)
}

func (h *harness) sync(name string) {
	h.t.Helper()
	if err := h.syncErr(name); err != nil {
		h.t.Fatalf("sync %s: %v", name, err)
	}
}

func (h *harness) deployment(name string) *appsv1.Deployment {
	h.t.Helper()
	d, err := h.client.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// update changes a Deployment's spec as a user would: the generation
// goes up.
func (h *harness) update(name string, change func(*appsv1.Deployment)) {
	h.t.Helper()
	d := h.deployment(name)
	change(d)
	d.Generation++
	if _, err := h.client.AppsV1().Deployments("default").Update(context.Background(), d, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// replicaSets lists the ReplicaSets, oldest first.
func (h *harness) replicaSets() []*appsv1.ReplicaSet {
	h.t.Helper()
	list, err := h.client.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	slices.SortFunc(out, olderFirst)
	return out
}

// sizes returns the ReplicaSets' spec.replicas, oldest first.
func (h *harness) sizes() []int32 {
	var out []int32
	for _, rs := range h.replicaSets() {
		out = append(out, size(rs))
	}
	return out
}

func (h *harness) expectSizes(want ...int32) {
	h.t.Helper()
	if got := h.sizes(); !slices.Equal(got, want) {
		h.t.Fatalf("ReplicaSet sizes %v, want %v", got, want)
	}
}

// settle plays the ReplicaSet controller: every ReplicaSet runs its
// spec.replicas pods, of which available(rs) are available.
func (h *harness) settle(available func(rs *appsv1.ReplicaSet) int32) {
	h.t.Helper()
	for _, rs := range h.replicaSets() {
		rs.Status.Replicas = size(rs)
		rs.Status.AvailableReplicas = min(available(rs), size(rs))
		rs.Status.ReadyReplicas = rs.Status.AvailableReplicas
		rs.Status.ObservedGeneration = rs.Generation
		if _, err := h.client.AppsV1().ReplicaSets("default").UpdateStatus(context.Background(), rs, metav1.UpdateOptions{}); err != nil {
			h.t.Fatal(err)
		}
	}
}

// allAvailable makes every pod available.
func allAvailable(rs *appsv1.ReplicaSet) int32 { return size(rs) }

// onlyOld makes the pods of ReplicaSets other than the newest available.
func (h *harness) onlyOld(newest string) func(*appsv1.ReplicaSet) int32 {
	return func(rs *appsv1.ReplicaSet) int32 {
		if rs.Name == newest {
			return 0
		}
		return size(rs)
	}
}

// drainEvents returns the events recorded since the last call.
func (h *harness) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-h.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (h *harness) expectEvents(want ...string) {
	h.t.Helper()
	got := h.drainEvents()
	if !slices.Equal(got, want) {
		h.t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func expectCondition(t *testing.T, d *appsv1.Deployment, typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string) {
	t.Helper()
	c := getCondition(d.Status, typ)
	if c == nil {
		t.Fatalf("no %s condition in %+v", typ, d.Status.Conditions)
	}
	if c.Status != status || c.Reason != reason || (msg != "" && c.Message != msg) {
		t.Fatalf("%s condition %s/%s %q, want %s/%s %q", typ, c.Status, c.Reason, c.Message, status, reason, msg)
	}
}

// newDeployment returns a RollingUpdate Deployment "web" of the nginx image
// tag, as the API server would store it.
func newDeployment(replicas int32, tag string) *appsv1.Deployment {
	surge, unavailable := intstr.FromInt32(1), intstr.FromInt32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "web-uid", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:" + tag}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		},
	}
}

func setImage(tag string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:" + tag }
}
