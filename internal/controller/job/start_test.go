package job

import (
	"context"
	"log/slog"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller with real informers over the fake
// clientset until a Job of two completions is Complete.
func TestStart(t *testing.T) {
	client := newClient()
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()
	factory.Start(ctx.Done())
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		factory.Shutdown()
	}()
	j := newJob("run", ptr[int32](2), ptr[int32](2))
	if _, err := client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ended := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, err := client.BatchV1().Jobs(ns).Get(ctx, "run", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if finished(got) != nil {
			if !hasCondition(got, batchv1.JobComplete, batchv1.JobReasonCompletionsReached) || got.Status.Succeeded != 2 {
				t.Fatalf("status = %+v", got.Status)
			}
			return
		}
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if !ended[p.Name] {
				ended[p.Name] = true
				p.Status.Phase = corev1.PodSucceeded
				if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("job did not complete")
}
