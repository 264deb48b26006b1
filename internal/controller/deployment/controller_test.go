package deployment

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// rsName is the name the controller gives the ReplicaSet of d's template.
func rsName(d *appsv1.Deployment) string { return newReplicaSetFor(d).Name }

func scaledUp(name string, from, to int) string {
	return "Normal ScalingReplicaSet Scaled up replica set " + name + " from " + itoa(from) + " to " + itoa(to)
}

func scaledDown(name string, from, to int) string {
	return "Normal ScalingReplicaSet Scaled down replica set " + name + " from " + itoa(from) + " to " + itoa(to)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRollingUpdateStepByStep(t *testing.T) {
	d := newDeployment(4, "1")
	h := newHarness(t, d)
	rs1 := rsName(d)

	h.sync("web")
	h.expectEvents(scaledUp(rs1, 0, 4))
	h.expectSizes(4)
	got := h.deployment("web")
	if got.Annotations[RevisionAnnotation] != "1" {
		t.Fatalf("deployment revision %q, want 1", got.Annotations[RevisionAnnotation])
	}
	expectCondition(t, got, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated, `Created new replica set "`+rs1+`"`)
	expectCondition(t, got, appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.")
	rs := h.replicaSets()[0]
	for k, v := range map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5"} {
		if rs.Annotations[k] != v {
			t.Errorf("new ReplicaSet %s = %q, want %q", k, rs.Annotations[k], v)
		}
	}

	h.settle(allAvailable)
	h.sync("web")
	got = h.deployment("web")
	expectCondition(t, got, appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable, `ReplicaSet "`+rs1+`" has successfully progressed.`)
	expectCondition(t, got, appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability.")

	// kubectl set image: one surge pod, one old pod down (maxUnavailable 1).
	h.update("web", setImage("2"))
	rs2 := rsName(h.deployment("web"))
	h.sync("web")
	h.expectEvents(scaledUp(rs2, 0, 1), scaledDown(rs1, 4, 3))
	h.expectSizes(3, 1)
	if got := h.deployment("web").Annotations[RevisionAnnotation]; got != "2" {
		t.Fatalf("deployment revision %q, want 2", got)
	}

	steps := []struct {
		available func(*appsv1.ReplicaSet) int32
		events    []string
		sizes     []int32
	}{
		{h.onlyOld(rs2), []string{scaledUp(rs2, 1, 2)}, []int32{3, 2}},
		{h.onlyOld(rs2), nil, []int32{3, 2}}, // new pods unavailable: stuck
		{allAvailable, []string{scaledDown(rs1, 3, 1)}, []int32{1, 2}},
		{allAvailable, []string{scaledUp(rs2, 2, 4)}, []int32{1, 4}},
		{allAvailable, []string{scaledDown(rs1, 1, 0)}, []int32{0, 4}},
		{allAvailable, nil, []int32{0, 4}},
	}
	for i, s := range steps {
		h.settle(s.available)
		h.sync("web")
		if evs := h.drainEvents(); len(evs) != len(s.events) || (len(evs) > 0 && evs[0] != s.events[0]) {
			t.Fatalf("step %d: events %q, want %q", i, evs, s.events)
		}
		h.expectSizes(s.sizes...)
	}
	got = h.deployment("web")
	want := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 4, ReadyReplicas: 4, AvailableReplicas: 4}
	got.Status.Conditions = nil
	if !equalStatus(got.Status, want) {
		t.Fatalf("status %+v, want %+v", got.Status, want)
	}
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable,
		`ReplicaSet "`+rs2+`" has successfully progressed.`)

	// kubectl rollout undo: the old template and its change-cause come back;
	// its ReplicaSet becomes revision 3 and remembers it was 1.
	h.update("web", func(d *appsv1.Deployment) {
		setImage("1")(d)
		d.Annotations["kubernetes.io/change-cause"] = "undo"
	})
	h.sync("web")
	h.expectEvents(scaledUp(rs1, 0, 1))
	back := h.replicaSets()[0]
	if back.Name != rs1 || back.Annotations[RevisionAnnotation] != "3" || back.Annotations[RevisionHistoryAnnotation] != "1" ||
		back.Annotations["kubernetes.io/change-cause"] != "undo" {
		t.Fatalf("rolled-back ReplicaSet %s annotations %v", back.Name, back.Annotations)
	}
	if got := h.deployment("web").Annotations[RevisionAnnotation]; got != "3" {
		t.Fatalf("deployment revision %q after undo, want 3", got)
	}
}

func equalStatus(a, b appsv1.DeploymentStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Replicas == b.Replicas && a.UpdatedReplicas == b.UpdatedReplicas &&
		a.ReadyReplicas == b.ReadyReplicas && a.AvailableReplicas == b.AvailableReplicas && a.UnavailableReplicas == b.UnavailableReplicas
}

func TestProportionalScalingMidRollout(t *testing.T) {
	h := newHarness(t, newDeployment(4, "1"))
	rs1 := rsName(h.deployment("web"))
	h.sync("web")
	h.settle(allAvailable)
	h.sync("web")
	h.update("web", setImage("2"))
	rs2 := rsName(h.deployment("web"))
	h.sync("web")
	h.settle(h.onlyOld(rs2))
	h.sync("web")
	h.expectSizes(3, 2)
	h.drainEvents()

	// kubectl scale --replicas=8: 9 pods allowed, shared 3:2.
	h.update("web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](8) })
	h.sync("web")
	h.expectSizes(5, 4)
	h.expectEvents(scaledUp(rs1, 3, 5), scaledUp(rs2, 2, 4))
	for _, rs := range h.replicaSets() {
		if rs.Annotations[DesiredReplicasAnnotation] != "8" || rs.Annotations[MaxReplicasAnnotation] != "9" {
			t.Errorf("%s annotations %v", rs.Name, rs.Annotations)
		}
	}
}

func TestRecreate(t *testing.T) {
	d := newDeployment(2, "1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	h := newHarness(t, d)
	rs1 := rsName(d)
	h.sync("web")
	h.expectEvents(scaledUp(rs1, 0, 2))
	h.settle(allAvailable)
	h.sync("web")
	old := h.replicaSets()[0]
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: rs1 + "-a", Namespace: "default", Labels: old.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(old, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if _, err := h.client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	h.update("web", setImage("2"))
	rs2 := rsName(h.deployment("web"))
	h.sync("web")
	h.expectEvents(scaledDown(rs1, 2, 0))
	h.expectSizes(0)
	h.sync("web") // the old ReplicaSet still reports pods
	h.expectSizes(0)
	h.settle(allAvailable)
	h.sync("web") // its pod is still running
	h.expectSizes(0)

	if err := h.client.CoreV1().Pods("default").Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.refresh()
	h.c.deletePod(pod)
	if n := h.c.queue.Len(); n != 1 {
		t.Fatalf("deleting the last old pod queued %d deployments, want 1", n)
	}
	h.sync("web")
	h.expectEvents(scaledUp(rs2, 0, 2))
	h.expectSizes(0, 2)
}

func TestPausedAndResumed(t *testing.T) {
	d := newDeployment(3, "1")
	d.Spec.Paused = true
	h := newHarness(t, d)
	h.sync("web")
	h.expectSizes() // nothing rolls out while paused
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused")

	h.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	resumed := h.deployment("web")
	if err := h.c.checkPausedConditions(context.Background(), resumed); err != nil {
		t.Fatal(err)
	}
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentResumed, "Deployment is resumed")
	h.sync("web")
	rs1 := rsName(h.deployment("web"))
	h.expectEvents(scaledUp(rs1, 0, 3))
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated, "")
	h.settle(allAvailable)
	h.sync("web")

	// Paused: a new template waits, scaling does not.
	h.update("web", func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		setImage("2")(d)
		d.Spec.Replicas = ptr.To[int32](5)
	})
	h.sync("web")
	h.expectEvents(scaledUp(rs1, 3, 5))
	h.expectSizes(5)
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentPaused, "")
	h.settle(allAvailable)
	h.sync("web")
	h.expectSizes(5)

	h.update("web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	h.sync("web")
	rs2 := rsName(h.deployment("web"))
	h.expectEvents(scaledUp(rs2, 0, 1), scaledDown(rs1, 5, 4))
	h.expectSizes(4, 1)
}

func TestHistoryCleanup(t *testing.T) {
	d := newDeployment(2, "5")
	d.Spec.RevisionHistoryLimit = ptr.To[int32](1)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	objs := []runtime.Object{d}
	names := map[int]string{}
	for rev := 1; rev <= 5; rev++ {
		v := newDeployment(2, itoa(rev))
		rs := newReplicaSetFor(v)
		rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(d, controllerKind)}
		rs.UID = types.UID("rs-" + itoa(rev))
		rs.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(rev) * time.Hour))
		rs.Generation = 1
		rs.Annotations = map[string]string{RevisionAnnotation: itoa(rev)}
		rs.Status.ObservedGeneration = 1
		if rev == 5 {
			rs.Spec.Replicas = ptr.To[int32](2)
			rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 1}
			rs.Annotations[DesiredReplicasAnnotation], rs.Annotations[MaxReplicasAnnotation] = "2", "3"
		}
		if rev == 1 {
			rs.Status.Replicas = 1 // a pod still terminating: keep it
		}
		names[rev] = rs.Name
		objs = append(objs, rs)
	}
	h := newHarness(t, objs...)
	h.sync("web")
	var left []string
	for _, rs := range h.replicaSets() {
		left = append(left, rs.Name)
	}
	want := []string{names[1], names[4], names[5]}
	if len(left) != len(want) || left[0] != want[0] || left[1] != want[1] || left[2] != want[2] {
		t.Fatalf("ReplicaSets left %v, want %v", left, want)
	}
}

func TestProgressDeadline(t *testing.T) {
	d := newDeployment(2, "1")
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
	h := newHarness(t, d)
	rs1 := rsName(d)
	h.sync("web")

	h.clock.Step(10 * time.Second)
	h.settle(func(*appsv1.ReplicaSet) int32 { return 0 }) // pods created, never ready
	h.sync("web")
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated,
		`ReplicaSet "`+rs1+`" is progressing.`)

	h.clock.Step(20 * time.Second)
	h.sync("web")
	cur := h.deployment("web")
	if after := h.c.requeueStuckDeployment(cur, cur.Status); after != 40*time.Second {
		t.Fatalf("requeued after %v, want 40s (deadline 60s from the last progress 20s ago)", after)
	}

	h.clock.Step(41 * time.Second)
	h.sync("web")
	cur = h.deployment("web")
	expectCondition(t, cur, appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadlineExceeded,
		`ReplicaSet "`+rs1+`" has timed out progressing.`)
	if after := h.c.requeueStuckDeployment(cur, cur.Status); after != -1 {
		t.Errorf("a timed-out deployment requeued after %v", after)
	}

	// The pods coming up complete the rollout after all.
	h.settle(allAvailable)
	h.sync("web")
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable,
		`ReplicaSet "`+rs1+`" has successfully progressed.`)
}

func TestTimedOutKeptWhenPaused(t *testing.T) {
	d := newDeployment(1, "1")
	d.Spec.Paused = true
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: ReasonProgressDeadlineExceeded}}
	h := newHarness(t, d)
	h.sync("web")
	expectCondition(t, h.deployment("web"), appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadlineExceeded, "")
}

func TestReplicaFailureCopied(t *testing.T) {
	h := newHarness(t, newDeployment(2, "1"))
	h.sync("web")
	rs := h.replicaSets()[0]
	rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
		Reason: "FailedCreate", Message: "exceeded quota"}}
	if _, err := h.client.AppsV1().ReplicaSets("default").UpdateStatus(context.Background(), rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync("web")
	expectCondition(t, h.deployment("web"), appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "FailedCreate", "exceeded quota")
}

func TestHashCollision(t *testing.T) {
	d := newDeployment(1, "1")
	squatter := newReplicaSetFor(d)
	squatter.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "other",
		UID: "other-uid", Controller: ptr.To(true)}}
	squatter.Spec.Template.Spec.Containers[0].Image = "busybox"
	h := newHarness(t, d, squatter)
	if err := h.syncErr("web"); !errors.Is(err, ErrHashCollision) {
		t.Fatalf("sync: %v, want a hash collision", err)
	}
	got := h.deployment("web")
	if ptr.Deref(got.Status.CollisionCount, 0) != 1 {
		t.Fatalf("collisionCount %v, want 1", got.Status.CollisionCount)
	}
	h.sync("web")
	name := rsName(got)
	if name == squatter.Name {
		t.Fatal("the collision count did not change the name")
	}
	h.expectEvents(scaledUp(name, 0, 1))
}

func TestAdoptAndRelease(t *testing.T) {
	d := newDeployment(2, "1")
	orphan := newReplicaSetFor(d)
	orphan.Name, orphan.UID, orphan.OwnerReferences = "web-orphan", "orphan-uid", nil
	orphan.Spec.Replicas = ptr.To[int32](2)
	orphan.Annotations = map[string]string{DesiredReplicasAnnotation: "2", MaxReplicasAnnotation: "3", RevisionAnnotation: "1"}
	stray := newReplicaSetFor(newDeployment(2, "0"))
	stray.Name, stray.UID = "web-stray", "stray-uid"
	stray.Labels = map[string]string{"app": "other"}
	foreign := newReplicaSetFor(newDeployment(2, "9"))
	foreign.Name, foreign.UID = "foreign", "foreign-uid"
	foreign.OwnerReferences[0].UID = "someone-else"
	h := newHarness(t, d, orphan, stray, foreign)
	h.sync("web")

	byName := map[string]*appsv1.ReplicaSet{}
	for _, rs := range h.replicaSets() {
		byName[rs.Name] = rs
	}
	if ref := metav1.GetControllerOf(byName["web-orphan"]); ref == nil || ref.UID != "web-uid" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("orphan not adopted: %+v", ref)
	}
	if ref := metav1.GetControllerOf(byName["web-stray"]); ref != nil {
		t.Errorf("stray ReplicaSet not released: %+v", ref)
	}
	if ref := metav1.GetControllerOf(byName["foreign"]); ref == nil || ref.UID != "someone-else" {
		t.Errorf("foreign ReplicaSet touched: %+v", ref)
	}
	if len(byName) != 3 {
		t.Errorf("the adopted ReplicaSet has the template: no new one expected, got %d ReplicaSets", len(byName))
	}
}

func TestSelectingAll(t *testing.T) {
	d := newDeployment(1, "1")
	d.Spec.Selector = &metav1.LabelSelector{}
	d.Generation = 3
	h := newHarness(t, d)
	h.sync("web")
	h.expectEvents("Warning SelectingAll This deployment is selecting all pods. A non-empty selector is required.")
	if got := h.deployment("web"); got.Status.ObservedGeneration != 3 || len(h.replicaSets()) != 0 {
		t.Fatalf("observedGeneration %d, %d ReplicaSets", got.Status.ObservedGeneration, len(h.replicaSets()))
	}
}

// ownedRS returns the ReplicaSet d would have for the nginx tag, with n
// replicas of which available are available, at revision rev.
func ownedRS(d *appsv1.Deployment, tag string, n, available int32, rev int) *appsv1.ReplicaSet {
	rs := newReplicaSetFor(newDeployment(desired(d), tag))
	rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(d, controllerKind)}
	rs.UID = types.UID("rs-" + tag)
	rs.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(rev) * time.Minute))
	rs.Generation = 1
	rs.Spec.Replicas = ptr.To(n)
	rs.Annotations = map[string]string{RevisionAnnotation: itoa(rev),
		DesiredReplicasAnnotation: itoa(int(desired(d))), MaxReplicasAnnotation: itoa(int(desired(d) + maxSurge(d)))}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: n, ReadyReplicas: available, AvailableReplicas: available, ObservedGeneration: 1}
	return rs
}

// TestUnhealthyOldPodsGoFirst: unavailable old pods are scaled away
// first, but no more than the new ReplicaSet's unavailable pods leave room
// for (5 pods - 3 minimum available - 1 new unavailable = 1).
func TestUnhealthyOldPodsGoFirst(t *testing.T) {
	d := newDeployment(4, "2")
	d.Annotations = map[string]string{RevisionAnnotation: "2"}
	old, cur := ownedRS(d, "1", 4, 2, 1), ownedRS(d, "2", 1, 0, 2)
	h := newHarness(t, d, old, cur)
	h.sync("web")
	h.expectEvents(scaledDown(old.Name, 4, 3))
	h.expectSizes(3, 1)
}
