package endpoint

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller over real informers of the fake API: the
// Endpoints appear, follow a pod's readiness well within a second, and
// Start returns when the context ends.
func TestStart(t *testing.T) {
	pod := newPod("a", "web", "10.0.0.1", notReady)
	client := newClient(newService("web"), pod)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()

	waitFor := func(what string, within time.Duration, ok func(*corev1.Endpoints) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			ep, err := client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			if err == nil && ok(ep) {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%s: not within %v (endpoints %+v, err %v)", what, within, ep, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("not-ready address", 10*time.Second, func(ep *corev1.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].NotReadyAddresses) == 1
	})

	pod = pod.DeepCopy()
	pod.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	took := waitFor("ready address", time.Second, func(ep *corev1.Endpoints) bool {
		return len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1
	})
	t.Logf("readiness reflected in %v", took)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
