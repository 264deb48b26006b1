package daemonset

import (
	"context"
	"log/slog"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller over real informers of the fake API: a
// pod appears for each node, and Start returns when the context ends.
func TestStart(t *testing.T) {
	client := newClient(newDS("agent"), newNode("n1"), newNode("n2"))
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 2 && ds.Status.CurrentNumberScheduled == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pods, status %+v", len(pods.Items), ds.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
