package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestListPaginationAndSelectors covers limit/continue, label and field
// selectors, and resourceVersion semantics of lists.
func TestListPaginationAndSelectors(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		pod := testPod(fmt.Sprintf("p%02d", i), "x")
		pod.Labels["parity"] = []string{"even", "odd"}[i%2]
		if i < 5 {
			pod.Spec.NodeName = "node-a"
		}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	var rv string
	for page := 0; ; page++ {
		l, err := c.CoreV1().Pods("default").List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			rv = l.ResourceVersion
			if l.RemainingItemCount == nil || *l.RemainingItemCount != 15 {
				t.Fatalf("remainingItemCount: %v", l.RemainingItemCount)
			}
			// A write between pages does not show in later pages.
			if _, err := c.CoreV1().Pods("default").Create(ctx, testPod("p99", "late"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if l.ResourceVersion != rv {
			t.Fatalf("page %d read at %s, first page at %s", page, l.ResourceVersion, rv)
		}
		for _, p := range l.Items {
			names = append(names, p.Name)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if len(names) != 25 || names[0] != "p00" || names[24] != "p24" {
		t.Fatalf("paged list: %d items %v", len(names), names)
	}
	count := func(o metav1.ListOptions) int {
		t.Helper()
		l, err := c.CoreV1().Pods("").List(ctx, o)
		if err != nil {
			t.Fatalf("list %+v: %v", o, err)
		}
		return len(l.Items)
	}
	if n := count(metav1.ListOptions{LabelSelector: "parity=odd"}); n != 12 {
		t.Fatalf("label selector: %d", n)
	}
	if n := count(metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"}); n != 5 {
		t.Fatalf("field selector spec.nodeName: %d", n)
	}
	if n := count(metav1.ListOptions{FieldSelector: "status.phase=Pending,spec.nodeName="}); n != 21 {
		t.Fatalf("field selector status.phase and empty nodeName: %d", n)
	}
	if n := count(metav1.ListOptions{FieldSelector: "metadata.name=p03"}); n != 1 {
		t.Fatalf("field selector metadata.name: %d", n)
	}
	if n := count(metav1.ListOptions{LabelSelector: "parity in (even)", FieldSelector: "spec.nodeName!=node-a", Limit: 3}); n != 3 {
		t.Fatalf("selectors with limit: %d", n)
	}
	_, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=1"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `field label not supported: spec.bogus`) {
		t.Fatalf("unsupported field selector: %v", err)
	}
	// An exact read at the first page's revision does not see p99.
	l, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil || len(l.Items) != 25 || l.ResourceVersion != rv {
		t.Fatalf("exact list at %s: %v, %d items at %s", rv, err, len(l.Items), l.ResourceVersion)
	}
	out := s.mustKubectl("get", "pods", "--chunk-size=4", "-o", "name")
	if strings.Count(out, "pod/") != 26 {
		t.Fatalf("kubectl with --chunk-size: %d pods\n%s", strings.Count(out, "pod/"), out)
	}
	assertLines(t, s.mustKubectl("get", "pods", "-o", "wide", "--field-selector", "spec.nodeName=node-a"),
		`^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$`,
		`^p00\s+0/1\s+Pending\s+0\s+\d+s\s+<none>\s+node-a\s+<none>\s+<none>$`)
}

// TestWatchSemantics covers watch from a resourceVersion, bookmarks,
// selectors turning modifications into ADDED/DELETED, timeoutSeconds and
// the legacy /watch/ path.
func TestWatchSemantics(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	cms := c.CoreV1().ConfigMaps("default")
	a, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "1"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion, LabelSelector: "k=1", AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	a.Labels["k"] = "2"
	if a, err = cms.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.Labels["k"] = "1"
	if _, err = cms.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []watch.EventType{watch.Deleted, watch.Added, watch.Deleted} {
		ev := nextEvent(t, w)
		if ev.Type != want {
			t.Fatalf("got %s, want %s", ev.Type, want)
		}
	}
	// timeoutSeconds ends the watch.
	start := time.Now()
	w2, err := cms.Watch(ctx, metav1.ListOptions{TimeoutSeconds: ptr.To[int64](1)})
	if err != nil {
		t.Fatal(err)
	}
	for range w2.ResultChan() {
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeoutSeconds=1 watch lasted %v", d)
	}
	s.mustKubectl("create", "configmap", "legacy")
	out := s.mustKubectl("get", "--raw", "/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1")
	contains(t, out, `"type":"ADDED"`, `"name":"legacy"`)
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event in 10s")
		}
	}
}

// TestStatusGenerationAndNames covers the status subresource, generation
// bumps, generateName, deletecollection and dry run.
func TestStatusGenerationAndNames(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
		Status: appsv1.DeploymentStatus{Replicas: 9},
	}
	deps := c.AppsV1().Deployments("default")
	got, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Name, "web-") || len(got.Name) != 9 || got.Generation != 1 || got.Status.Replicas != 0 || *got.Spec.Replicas != 1 {
		t.Fatalf("created: name %q generation %d status %d replicas %d", got.Name, got.Generation, got.Status.Replicas, *got.Spec.Replicas)
	}
	got.Status.Replicas = 3
	got.Labels = map[string]string{"ignored": "yes"}
	st, err := deps.UpdateStatus(ctx, got, metav1.UpdateOptions{})
	if err != nil || st.Status.Replicas != 3 || st.Labels["ignored"] != "" || st.Generation != 1 {
		t.Fatalf("status update: %v %+v", err, st)
	}
	st.Status.Replicas = 5
	st.Spec.Replicas = ptr.To[int32](4)
	up, err := deps.Update(ctx, st, metav1.UpdateOptions{})
	if err != nil || up.Status.Replicas != 3 || up.Generation != 2 || *up.Spec.Replicas != 4 {
		t.Fatalf("main update: %v status=%d generation=%d", err, up.Status.Replicas, up.Generation)
	}
	up.Labels = map[string]string{"only": "labels"}
	up, err = deps.Update(ctx, up, metav1.UpdateOptions{})
	if err != nil || up.Generation != 2 {
		t.Fatalf("label-only update bumped generation: %v %d", err, up.Generation)
	}
	// Dry runs change nothing.
	if _, err := deps.Update(ctx, withReplicas(up, 7), metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if err := deps.Delete(ctx, up.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if now, err := deps.Get(ctx, up.Name, metav1.GetOptions{}); err != nil || *now.Spec.Replicas != 4 {
		t.Fatalf("after dry runs: %v %v", err, now)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("dc%d", i), Labels: map[string]string{"batch": "x"}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CoreV1().ConfigMaps("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "batch=x"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{LabelSelector: "batch=x"}); len(l.Items) != 0 {
		t.Fatalf("deletecollection left %d", len(l.Items))
	}
	out := s.mustKubectl("create", "deployment", "proto", "--image=nginx", "--replicas=2")
	contains(t, out, "deployment.apps/proto created")
}

func withReplicas(d *appsv1.Deployment, n int32) *appsv1.Deployment {
	d = d.DeepCopy()
	d.Spec.Replicas = &n
	return d
}

// TestPodGracefulDeletion: a pod bound to a node is only marked for
// deletion (its agent finishes it); an unbound one goes at once.
func TestPodGracefulDeletion(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	bound := testPod("bound", "x")
	bound.Spec.NodeName = "node-a"
	if _, err := c.CoreV1().Pods("default").Create(ctx, bound, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, testPod("free", "x"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.mustKubectl("delete", "pod", "free")
	s.mustKubectl("delete", "pod", "bound", "--wait=false")
	p, err := c.CoreV1().Pods("default").Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("bound pod after delete: %v %+v", err, p.ObjectMeta)
	}
	assertLines(t, s.mustKubectl("get", "pod", "bound"), `^bound\s+0/1\s+Terminating\s+0\s+`)
	s.mustKubectl("delete", "pod", "bound", "--grace-period=0", "--force")
	if _, err := c.CoreV1().Pods("default").Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("force delete: %v", err)
	}
	// Binding assigns a node once.
	if _, err := c.CoreV1().Pods("default").Create(ctx, testPod("tobind", "x"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "tobind"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-b"}}
	if err := c.CoreV1().Pods("default").Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Pods("default").Bind(ctx, b, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("second binding: %v", err)
	}
	p, _ = c.CoreV1().Pods("default").Get(ctx, "tobind", metav1.GetOptions{})
	if p.Spec.NodeName != "node-b" {
		t.Fatalf("bound to %q", p.Spec.NodeName)
	}
}

// TestEventsAndLeases exercises the two resources nodes and controllers
// write most.
func TestEventsAndLeases(t *testing.T) {
	s := startServer(t)
	c := s.client()
	ctx := context.Background()
	now := metav1.NewMicroTime(time.Now())
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		EventTime:  now, ReportingController: "skiff.io/test", ReportingInstance: "test-1",
		Action: "Testing", Reason: "Tested", Type: "Normal", Note: "hello from events.k8s.io",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
	}
	if _, err := c.EventsV1().Events("default").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := c.CoreV1().Events("default").Get(ctx, "web.1", metav1.GetOptions{})
	if err != nil || core.Message != "hello from events.k8s.io" || core.InvolvedObject.Name != "web" {
		t.Fatalf("event through core/v1: %v %+v", err, core)
	}
	assertLines(t, s.mustKubectl("get", "events"), `^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$`, `Normal\s+Tested\s+pod/web\s+hello from events.k8s.io$`)
	contains(t, s.mustKubectl("get", "events", "--field-selector", "involvedObject.name=web", "-o", "name"), "event/web.1")
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Namespace: "kube-node-lease"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-a"), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now}}
	leases := c.CoordinationV1().Leases("kube-node-lease")
	l, err := leases.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later := metav1.NewMicroTime(time.Now().Add(time.Second))
	l.Spec.RenewTime = &later
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	assertLines(t, s.mustKubectl("get", "lease", "-n", "kube-node-lease"), `^NAME\s+HOLDER\s+AGE$`, `^node-a\s+node-a\s+`)
	metrics := s.mustKubectl("get", "--raw", "/metrics")
	// The scheduler's and controllers' leader leases count too.
	assertLines(t, metrics, `^apiserver_request_total\{code="201",group="coordination.k8s.io",resource="leases",subresource="",verb="CREATE",version="v1"\} [1-9]\d*$`,
		`^apiserver_request_duration_seconds_bucket\{`)
	var _ kubernetes.Interface = c
}
