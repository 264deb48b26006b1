package endpointslice

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller over real informers of the fake API: the
// slice appears, follows a pod's readiness well within a second, and
// Start returns when the context ends.
func TestStart(t *testing.T) {
	pod := newPod("a", "web", "10.0.0.1", notReady)
	client := newClient(newService("web"), newNode("n1", "z1"), pod)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()

	ready := func(want bool) func(*discoveryv1.EndpointSlice) bool {
		return func(s *discoveryv1.EndpointSlice) bool {
			return len(s.Endpoints) == 1 && *s.Endpoints[0].Conditions.Ready == want
		}
	}
	waitFor := func(what string, within time.Duration, ok func(*discoveryv1.EndpointSlice) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			list, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
			if err == nil && len(list.Items) == 1 && ok(&list.Items[0]) {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%s: not within %v (slices %+v, err %v)", what, within, list, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("not-ready endpoint", 10*time.Second, ready(false))

	pod = pod.DeepCopy()
	pod.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	took := waitFor("ready endpoint", time.Second, ready(true))
	t.Logf("readiness reflected in %v", took)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
