package persistentvolume

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller over real informers of the fake API: a
// WaitForFirstConsumer claim is provisioned and bound once its pod is
// scheduled, and Start returns when the context ends.
func TestStart(t *testing.T) {
	client := newClient(newClaim("data", "1Gi", withClass("local")), wffc("local", fakeProv), newNode("n1"))
	factory := informers.NewSharedInformerFactory(client, 0)
	prov := &fakeProvisioner{name: fakeProv}
	c := New(client, factory, slog.New(slog.DiscardHandler), prov)
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	claim := func() *corev1.PersistentVolumeClaim {
		cl, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	waitFor("the protection finalizer", func() bool { return len(claim().Finalizers) == 1 })
	if claim().Spec.VolumeName != "" {
		t.Fatal("bound without a consumer")
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, newPod("web-0", "n1", "data"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the claim to bind", func() bool { return claim().Status.Phase == corev1.ClaimBound })
	if got := claim(); got.Spec.VolumeName != "pvc-uid-data" || got.Annotations[AnnSelectedNode] != "n1" {
		t.Errorf("claim volume %q annotations %v", got.Spec.VolumeName, got.Annotations)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
