package replicaset

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	"github.com/skiff/skiff/internal/controller/expectations"
)

func TestCreatesMissingPods(t *testing.T) {
	rs := newRS("web", 3)
	rs.Spec.Template.Annotations = map[string]string{"note": "x"}
	f := newFixture(t, false, rs)
	f.mustSync("default/web")

	pods := f.createdPods()
	if len(pods) != 3 {
		t.Fatalf("created %d pods, want 3", len(pods))
	}
	for _, p := range pods {
		if p.GenerateName != "web-" || p.Namespace != ns || p.Labels["app"] != "web" || p.Labels["tier"] != "web" || p.Annotations["note"] != "x" {
			t.Errorf("pod %s: generateName %q namespace %q labels %v annotations %v", p.Name, p.GenerateName, p.Namespace, p.Labels, p.Annotations)
		}
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" || ref.Name != "web" || ref.UID != rs.UID ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("pod %s: controller ref %+v", p.Name, ref)
		}
	}
	events := f.events()
	if len(events) != 3 || !strings.HasPrefix(events[0], "Normal SuccessfulCreate Created pod: web-") {
		t.Errorf("events = %q, want 3 SuccessfulCreate", events)
	}
	if got := f.getRS("web").Status; got.ObservedGeneration != 1 || got.Replicas != 0 {
		t.Errorf("status = %+v, want observedGeneration 1, replicas 0", got)
	}
}

func TestExpectationsPreventDoubleCreates(t *testing.T) {
	f := newFixture(t, false, newRS("web", 3))
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 3 {
		t.Fatalf("first sync created %d pods, want 3", n)
	}
	// The informer has not shown the pods yet: a sync must not create again.
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 0 {
		t.Fatalf("sync before the creates were observed created %d pods", n)
	}

	// Two of three observed: still waiting.
	all, _ := f.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	for _, p := range all.Items[:2] {
		f.cache(&p)
		f.c.onPodAdd(&p)
	}
	if f.c.exp.Satisfied("default/web") {
		t.Fatal("expectations satisfied with one create unobserved")
	}
	f.cache(&all.Items[2])
	f.c.onPodAdd(&all.Items[2])
	if !f.c.exp.Satisfied("default/web") {
		t.Fatal("expectations not satisfied after all creates were observed")
	}
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 0 {
		t.Fatalf("sync with 3 of 3 pods created %d", n)
	}
}

func TestExpectationsExpire(t *testing.T) {
	f := newFixture(t, false, newRS("web", 2))
	f.mustSync("default/web")
	f.clock.Step(expectations.TTL - time.Second)
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 0 {
		t.Fatalf("created %d pods while expectations were live", n)
	}
	// The watch events were lost: after the TTL the controller acts on
	// what it sees (no pods) again.
	f.clock.Step(2 * time.Second)
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 2 {
		t.Fatalf("created %d pods after the TTL, want 2", n)
	}
}

func TestScaleDownDeletesRankedPods(t *testing.T) {
	rs := newRS("web", 2)
	pods := []runtime.Object{
		newPod("ready-1", "web", rs, readySince(t0.Add(-time.Hour))),
		newPod("pending", "web", rs, inPhase(corev1.PodPending)),
		newPod("ready-2", "web", rs, readySince(t0.Add(-time.Hour)), onNode("node-2")),
		newPod("unassigned", "web", rs, onNode(""), inPhase(corev1.PodPending)),
	}
	f := newFixture(t, false, append(pods, rs)...)
	f.mustSync("default/web")
	got := f.deletedNames()
	slices.Sort(got)
	if want := []string{"pending", "unassigned"}; !slices.Equal(got, want) {
		t.Fatalf("deleted %v, want %v", got, want)
	}
	for _, a := range f.actions("delete", "pods") {
		if o := a.(clienttesting.DeleteActionImpl).DeleteOptions; o.GracePeriodSeconds != nil {
			t.Errorf("delete with grace period %d, want the default", *o.GracePeriodSeconds)
		}
	}
	events := f.events()
	slices.Sort(events)
	if want := []string{"Normal SuccessfulDelete Deleted pod: pending", "Normal SuccessfulDelete Deleted pod: unassigned"}; !slices.Equal(events, want) {
		t.Errorf("events = %q, want %q", events, want)
	}
	// Until the informer shows the deletions, no more deletes.
	f.mustSync("default/web")
	if n := len(f.deletedNames()); n != 0 {
		t.Fatalf("deleted %d more pods before observing the deletions", n)
	}
	// One deletion seen as a deletion timestamp, one (twice) as a tombstone.
	p := pods[1].(*corev1.Pod).DeepCopy()
	now := metav1.NewTime(t0)
	p.DeletionTimestamp = &now
	p.ResourceVersion = "2"
	f.c.onPodUpdate(pods[1], p)
	u := pods[3].(*corev1.Pod)
	f.c.onPodDelete(cacheTombstone(u))
	f.c.onPodDelete(u)
	if !f.c.exp.Satisfied("default/web") {
		t.Fatal("expectations not satisfied after both deletions were observed")
	}
}

func TestIgnoresInactivePods(t *testing.T) {
	rs := newRS("web", 2)
	gone := metav1.NewTime(t0)
	f := newFixture(t, false, rs,
		newPod("running", "web", rs, readySince(t0.Add(-time.Hour))),
		newPod("done", "web", rs, inPhase(corev1.PodSucceeded)),
		newPod("failed", "web", rs, inPhase(corev1.PodFailed)),
		newPod("terminating", "web", rs, func(p *corev1.Pod) { p.DeletionTimestamp = &gone }),
	)
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 1 {
		t.Errorf("created %d pods, want 1", n)
	}
	if n := len(f.deletedNames()); n != 0 {
		t.Errorf("deleted %d pods, want none", n)
	}
	if got := f.getRS("web").Status.Replicas; got != 1 {
		t.Errorf("status.replicas = %d, want 1", got)
	}
}

func TestAdoptsOrphansAndReleasesMismatches(t *testing.T) {
	rs := newRS("web", 2)
	other := newRS("other", 1)
	f := newFixture(t, false, rs, other,
		newPod("orphan", "web", nil),
		newPod("owned", "web", rs),
		newPod("relabeled", "db", rs),
		newPod("foreign", "web", other),
	)
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")) + len(f.deletedNames()); n != 0 {
		t.Errorf("%d creates or deletes, want none: orphan and owned make 2", n)
	}
	get := func(name string) *corev1.Pod {
		p, err := f.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if ref := metav1.GetControllerOf(get("orphan")); ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || !*ref.BlockOwnerDeletion {
		t.Errorf("orphan: controller %+v, want web", ref)
	}
	if refs := get("relabeled").OwnerReferences; len(refs) != 0 {
		t.Errorf("relabeled: owner references %+v, want none", refs)
	}
	if ref := metav1.GetControllerOf(get("foreign")); ref == nil || ref.UID != other.UID {
		t.Errorf("foreign: controller %+v, want other", ref)
	}
	// The fresh read before adopting.
	if n := len(f.actions("get", "replicasets")); n != 1 {
		t.Errorf("%d GETs of the ReplicaSet, want 1", n)
	}
	if got := f.getRS("web").Status.Replicas; got != 2 {
		t.Errorf("status.replicas = %d, want 2", got)
	}
}

func TestNoAdoptionByDeletedOrReplacedReplicaSet(t *testing.T) {
	for _, tt := range []struct {
		name string
		live func(*appsv1.ReplicaSet)
	}{
		{"being deleted", func(rs *appsv1.ReplicaSet) { now := metav1.NewTime(t0); rs.DeletionTimestamp = &now }},
		{"replaced", func(rs *appsv1.ReplicaSet) { rs.UID = "new-uid" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := newRS("web", 1)
			live := rs.DeepCopy()
			tt.live(live)
			f := newFixture(t, false, live, newPod("orphan", "web", nil))
			f.cache(rs) // the cache still has the old object
			_, err := f.sync("default/web")
			if !errors.Is(err, errGone) {
				t.Fatalf("sync error = %v, want errGone", err)
			}
			if n := len(f.actions("patch", "pods")) + len(f.actions("create", "pods")); n != 0 {
				t.Errorf("%d pod patches or creates, want none", n)
			}
		})
	}
}

func TestDeletedReplicaSetDoesNotScale(t *testing.T) {
	rs := newRS("web", 3)
	now := metav1.NewTime(t0)
	rs.DeletionTimestamp = &now
	f := newFixture(t, false, rs, newPod("owned", "web", rs), newPod("orphan", "web", nil))
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")) + len(f.actions("patch", "pods")); n != 0 {
		t.Errorf("%d creates or patches for a ReplicaSet being deleted", n)
	}
	if got := f.getRS("web").Status.Replicas; got != 1 {
		t.Errorf("status.replicas = %d, want 1", got)
	}
}

func TestStatusCounts(t *testing.T) {
	rs := newRS("web", 4)
	rs.Spec.MinReadySeconds = 30
	rs.Generation = 3
	f := newFixture(t, false, rs,
		newPod("available", "web", rs, readySince(t0.Add(-time.Minute))),
		newPod("ready-10s", "web", rs, readySince(t0.Add(-10*time.Second))),
		newPod("ready-25s", "web", rs, readySince(t0.Add(-25*time.Second)), func(p *corev1.Pod) { delete(p.Labels, "tier") }),
		newPod("not-ready", "web", rs),
	)
	next := f.mustSync("default/web")
	if want := 5*time.Second + availabilityMargin; next != want {
		t.Errorf("requeue after %v, want %v", next, want)
	}
	updates := f.actions("update", "replicasets", "status")
	if len(updates) != 1 {
		t.Fatalf("%d status updates, want 1", len(updates))
	}
	got := f.getRS("web").Status
	want := appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 1, ObservedGeneration: 3}
	if !equalStatus(got, want) {
		t.Errorf("status = %+v, want %+v", got, want)
	}

	// The cache now has that status: nothing to write.
	f.cache(f.getRS("web"))
	f.mustSync("default/web")
	if n := len(f.actions("update", "replicasets", "status")); n != 0 {
		t.Errorf("%d status updates with an unchanged status, want 0", n)
	}

	// After the wait, ready-25s is available.
	f.clock.Step(next)
	next = f.mustSync("default/web")
	if got := f.getRS("web").Status.AvailableReplicas; got != 2 {
		t.Errorf("availableReplicas = %d after %v, want 2", got, next)
	}
	if want := 15 * time.Second; next != want { // 20 s - 5.1 s + margin
		t.Errorf("then requeue after %v, want %v", next, want)
	}
}

func equalStatus(a, b appsv1.ReplicaSetStatus) bool {
	return a.Replicas == b.Replicas && a.FullyLabeledReplicas == b.FullyLabeledReplicas && a.ReadyReplicas == b.ReadyReplicas &&
		a.AvailableReplicas == b.AvailableReplicas && a.ObservedGeneration == b.ObservedGeneration && len(a.Conditions) == len(b.Conditions)
}

func TestSlowStart(t *testing.T) {
	for _, tt := range []struct {
		count, failAt, wantOK, wantCalls int
	}{
		{count: 10, failAt: 0, wantOK: 10, wantCalls: 10},
		{count: 10, failAt: 1, wantOK: 0, wantCalls: 1},
		{count: 10, failAt: 2, wantOK: 2, wantCalls: 3},     // batches 1, 2
		{count: 10, failAt: 4, wantOK: 6, wantCalls: 7},     // batches 1, 2, 4
		{count: 100, failAt: 16, wantOK: 30, wantCalls: 31}, // 1, 2, 4, 8, 16
		{count: 5, failAt: 0, wantOK: 5, wantCalls: 5},      // 1, 2, 2
	} {
		var calls atomic.Int64
		ok, err := slowStart(tt.count, 1, func() error {
			if n := calls.Add(1); tt.failAt > 0 && n == int64(tt.failAt) {
				return errors.New("boom")
			}
			return nil
		})
		if ok != tt.wantOK || int(calls.Load()) != tt.wantCalls || (err != nil) != (tt.failAt > 0) {
			t.Errorf("slowStart(%d) failing call %d: %d ok, %d calls, err %v; want %d ok, %d calls",
				tt.count, tt.failAt, ok, calls.Load(), err, tt.wantOK, tt.wantCalls)
		}
	}
}

func TestFailedCreatesSetReplicaFailure(t *testing.T) {
	f := newFixture(t, false, newRS("web", 10))
	var creates atomic.Int64
	quota := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("exceeded quota"))
	failing := true
	f.client.PrependReactor("create", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		if creates.Add(1) > 3 && failing {
			return true, nil, quota
		}
		return false, nil, nil
	})
	_, err := f.sync("default/web")
	if !apierrors.IsForbidden(err) {
		t.Fatalf("sync error = %v, want Forbidden", err)
	}
	// Batches of 1 and 2 succeed; all 4 of the third fail: the quota is full.
	if got := len(f.createdPods()); got != 3 {
		t.Errorf("%d pods created, want 3", got)
	}
	if got := len(f.actions("create", "pods")); got != 7 {
		t.Errorf("%d create requests, want 7 (batches 1, 2, 4)", got)
	}
	var failed int
	for _, e := range f.events() {
		if strings.HasPrefix(e, "Warning FailedCreate Error creating: ") {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("%d FailedCreate events, want 4", failed)
	}
	st := f.getRS("web").Status
	if len(st.Conditions) != 1 || st.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure || st.Conditions[0].Reason != "FailedCreate" ||
		st.Conditions[0].Status != corev1.ConditionTrue || !strings.Contains(st.Conditions[0].Message, "exceeded quota") {
		t.Errorf("conditions = %+v, want ReplicaFailure FailedCreate", st.Conditions)
	}
	// Only the 3 successful creates are awaited.
	f.observeCreated()
	if !f.c.exp.Satisfied("default/web") {
		t.Fatal("expectations wait for creates that failed")
	}

	// The quota is raised: the next sync creates the rest and clears the condition.
	failing = false
	f.cache(f.getRS("web"))
	f.mustSync("default/web")
	if got := len(f.createdPods()); got != 7 {
		t.Errorf("%d pods created after the quota was raised, want 7", got)
	}
	if c := f.getRS("web").Status.Conditions; len(c) != 0 {
		t.Errorf("conditions = %+v, want none", c)
	}
}

func TestBurstLimit(t *testing.T) {
	f := newFixture(t, false, newRS("web", 10))
	f.c.burst = 4
	f.mustSync("default/web")
	if n := len(f.actions("create", "pods")); n != 4 {
		t.Fatalf("created %d pods, want the burst of 4", n)
	}
}

func TestNamespaceTerminatingIsNotAFailure(t *testing.T) {
	f := newFixture(t, false, newRS("web", 2))
	f.client.PrependReactor("create", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		err := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("namespace is terminating"))
		err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
		return true, nil, err
	})
	f.mustSync("default/web")
	if e := f.events(); len(e) != 0 {
		t.Errorf("events = %q, want none", e)
	}
}

func TestReplicationController(t *testing.T) {
	rc := newRC("legacy", 3)
	f := newFixture(t, true, rc, newPod("extra-orphan", "legacy", nil))
	f.mustSync("default/legacy")
	pods := f.createdPods()
	if len(pods) != 2 {
		t.Fatalf("created %d pods, want 2 (one adopted)", len(pods))
	}
	for _, p := range append(pods, mustGetPod(t, f, "extra-orphan")) {
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != rc.UID {
			t.Errorf("pod %s: controller %+v, want the RC", p.Name, ref)
		}
		if !strings.HasPrefix(p.Name, "legacy-") && p.Name != "extra-orphan" {
			t.Errorf("pod name %q", p.Name)
		}
	}
	if n := len(f.actions("get", "replicationcontrollers")); n != 1 {
		t.Errorf("%d fresh GETs before adopting, want 1", n)
	}
	got, err := f.client.CoreV1().ReplicationControllers(ns).Get(context.Background(), "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Replicas != 1 || got.Status.ObservedGeneration != 1 {
		t.Errorf("status = %+v, want replicas 1, observedGeneration 1", got.Status)
	}

	// Scale down to one: the not-ready new pods go.
	f.observeCreated()
	rc = got.DeepCopy()
	one := int32(1)
	rc.Spec.Replicas = &one
	f.cache(rc)
	f.cache(mustGetPod(t, f, "extra-orphan"))
	f.mustSync("default/legacy")
	deleted := f.deletedNames()
	slices.Sort(deleted)
	want := podNames(pods)
	slices.Sort(want)
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
}

func mustGetPod(t *testing.T, f *fixture, name string) *corev1.Pod {
	t.Helper()
	p, err := f.client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStatusUpdateRetriesOnceOnAFreshObject(t *testing.T) {
	for _, tt := range []struct {
		failures, wantUpdates int
		wantErr               bool
	}{{0, 1, false}, {1, 2, false}, {2, 2, true}} {
		rs := newRS("web", 1)
		f := newFixture(t, false, rs, newPod("p", "web", rs))
		var failures atomic.Int64
		f.client.PrependReactor("update", "replicasets", func(a clienttesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() == "status" && failures.Add(1) <= int64(tt.failures) {
				return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "replicasets"}, "web", errors.New("stale"))
			}
			return false, nil, nil
		})
		_, err := f.sync("default/web")
		if (err != nil) != tt.wantErr {
			t.Errorf("%d failures: sync error %v", tt.failures, err)
		}
		if n := len(f.actions("update", "replicasets", "status")); n != tt.wantUpdates {
			t.Errorf("%d failures: %d status updates, want %d", tt.failures, n, tt.wantUpdates)
		}
		if n, want := len(f.actions("get", "replicasets")), min(tt.failures, 1); n != want {
			t.Errorf("%d failures: %d GETs, want %d", tt.failures, n, want)
		}
	}
}
