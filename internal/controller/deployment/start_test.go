package deployment

import (
	"context"
	"log/slog"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// TestStart runs the controller on started informers: a Deployment gets
// its ReplicaSet and an event, and Start returns when ctx ends.
func TestStart(t *testing.T) {
	client := fake.NewClientset(newDeployment(2, "1"))
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := client.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 1 && size(&list.Items[0]) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ReplicaSet of 2 after 10s: %d ReplicaSets", len(list.Items))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		evs, _ := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		if len(evs.Items) > 0 {
			if e := evs.Items[0]; e.Reason != "ScalingReplicaSet" || e.Source.Component != "deployment-controller" {
				t.Fatalf("event %s from %s", e.Reason, e.Source.Component)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no event recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after cancel")
	}
}
