package job

import (
	"context"
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
)

func TestTrackingFinalizer(t *testing.T) {
	f := newFixture(t, newJob("tf", ptr[int32](2), ptr[int32](1)))
	f.sync("tf")
	p := f.running()[0]
	if !hasTracking(p) {
		t.Fatalf("pod finalizers = %v", p.Finalizers)
	}
	f.finish(p, corev1.PodSucceeded, 0)
	f.sync("tf")
	var statusWrites []*batchv1.Job
	for _, a := range f.actions("update", "jobs", "status") {
		statusWrites = append(statusWrites, a.(clienttesting.UpdateAction).GetObject().(*batchv1.Job))
	}
	if len(statusWrites) != 2 {
		t.Fatalf("%d status writes, want 2 (record uncounted, then count)", len(statusWrites))
	}
	if u := statusWrites[0].Status.UncountedTerminatedPods; !slices.Contains(u.Succeeded, p.UID) || statusWrites[0].Status.Succeeded != 0 {
		t.Errorf("first write = %+v", statusWrites[0].Status)
	}
	if s := statusWrites[1].Status; s.Succeeded != 1 || len(s.UncountedTerminatedPods.Succeeded) != 0 {
		t.Errorf("second write = %+v", s)
	}
	got, err := f.client.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasTracking(got) {
		t.Errorf("finalizer kept on a counted pod")
	}
	// A counted pod deleted later does not count twice or go missing.
	if err := f.client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, p.Name); err != nil {
		t.Fatal(err)
	}
	f.sync("tf")
	if j := f.job("tf"); j.Status.Succeeded != 1 || j.Status.Active != 1 {
		t.Errorf("status = %+v", j.Status)
	}
}

func TestUncountedMovesWhenFinalizerGone(t *testing.T) {
	j := newJob("u", ptr[int32](2), ptr[int32](1))
	j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"gone-uid"}, Failed: []types.UID{"gone2-uid"}}
	f := newFixture(t, j)
	f.sync("u")
	s := f.job("u").Status
	if s.Succeeded != 1 || s.Failed != 1 || len(s.UncountedTerminatedPods.Succeeded)+len(s.UncountedTerminatedPods.Failed) != 0 {
		t.Errorf("status = %+v", s)
	}
}

func TestOrphanLosesFinalizer(t *testing.T) {
	f := newFixture(t, newJob("o", ptr[int32](1), ptr[int32](1)))
	f.sync("o")
	p := f.running()[0]
	if err := f.client.BatchV1().Jobs(ns).Delete(context.Background(), "o", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	f.c.onPodUpdate(p, withRV(p, "2"))
	key, _ := f.c.queue.Get()
	f.c.queue.Done(key)
	for key != orphanPrefix+ns+"/"+p.Name {
		key, _ = f.c.queue.Get()
		f.c.queue.Done(key)
	}
	if _, err := f.c.sync(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasTracking(got) {
		t.Errorf("orphan kept the finalizer: %v", got.Finalizers)
	}
}

func TestDeletingJobReleasesPods(t *testing.T) {
	f := newFixture(t, newJob("dj", ptr[int32](1), ptr[int32](1)))
	f.sync("dj")
	j := f.job("dj")
	now := metav1.NewTime(t0)
	j.DeletionTimestamp = &now
	f.updateJob(j)
	f.sync("dj")
	for _, p := range f.pods() {
		if hasTracking(p) {
			t.Errorf("pod %s of a deleted job kept the finalizer", p.Name)
		}
	}
}

func withRV(p *corev1.Pod, rv string) *corev1.Pod {
	p = p.DeepCopy()
	p.ResourceVersion = rv
	return p
}

func TestDeletedPodCountsAsFailed(t *testing.T) {
	f := newFixture(t, newJob("dp", ptr[int32](1), ptr[int32](1)))
	f.sync("dp")
	p := f.running()[0]
	if err := f.client.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	f.sync("dp")
	j := f.job("dp")
	if j.Status.Failed != 1 || *j.Status.Terminating != 1 {
		t.Errorf("status = %+v", j.Status)
	}
	got, _ := f.client.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	if hasTracking(got) {
		t.Errorf("finalizer kept on a counted deleted pod")
	}
	if n := len(f.running()); n != 0 {
		t.Errorf("running %d, want none during back-off", n)
	}
	f.clock.Step(initialBackoff)
	f.sync("dp")
	if n := len(f.running()); n != 1 {
		t.Errorf("running %d, want a replacement after back-off", n)
	}
}

func TestManagedElsewhere(t *testing.T) {
	f := newFixture(t, newJob("m", ptr[int32](1), ptr[int32](1), func(j *batchv1.Job) { j.Spec.ManagedBy = ptr("example.com/other") }))
	f.sync("m")
	if n := len(f.client.Actions()); n != 0 {
		t.Errorf("%d actions on a job managed elsewhere", n)
	}
}

// A pod cache that still shows the finalizer after the pod was counted
// must not make the Job count it twice.
func TestLaggingCacheDoesNotCountTwice(t *testing.T) {
	f := newFixture(t, newJob("lag", ptr[int32](2), ptr[int32](1)))
	f.sync("lag")
	p := f.running()[0]
	f.finish(p, corev1.PodSucceeded, 0)
	f.sync("lag")
	stale, _ := f.client.CoreV1().Pods(ns).Get(context.Background(), p.Name, metav1.GetOptions{})
	stale.Finalizers = []string{batchv1.JobTrackingFinalizer}
	f.refresh()
	if err := f.factory.Core().V1().Pods().Informer().GetIndexer().Update(stale); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.sync(context.Background(), ns+"/lag"); err != nil {
		t.Fatal(err)
	}
	if j := f.job("lag"); j.Status.Succeeded != 1 {
		t.Errorf("succeeded = %d, want 1", j.Status.Succeeded)
	}
}

func TestAdoptOrphan(t *testing.T) {
	j := newJob("ad", ptr[int32](1), ptr[int32](1))
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, UID: "stray-uid", Labels: j.Spec.Template.Labels},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	f := newFixture(t, j, orphan)
	f.sync("ad")
	got, err := f.client.CoreV1().Pods(ns).Get(context.Background(), "stray", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != j.UID || !hasTracking(got) {
		t.Errorf("orphan not adopted: refs %v finalizers %v", got.OwnerReferences, got.Finalizers)
	}
	if n := len(f.pods()); n != 1 {
		t.Errorf("%d pods, want the adopted one only", n)
	}
}
