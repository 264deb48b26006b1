package statefulset

import (
	"context"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
)

// TestStart runs the controller over real informers of the fake API: the
// pods and their claims appear, the status follows, and Start returns when
// the context ends.
func TestStart(t *testing.T) {
	client := newClient(withClaims(parallel(newSet("web", 2))))
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
		claims, err := client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		set, err := client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 2 && len(claims.Items) == 2 && set.Status.Replicas == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pods, %d claims, status %+v", len(pods.Items), len(claims.Items), set.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}

// TestStartRollsOut runs an OrderedReady set over real informers with a
// stand-in kubelet that makes every pod ready: the set comes up, and a
// template change rolls out until kubectl would call it done, with every
// pod on the new image.
func TestStartRollsOut(t *testing.T) {
	client := newClient(newSet("web", 3))
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 2) }()

	kubelet := func() {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				continue
			}
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
	}
	waitFor := func(what string, cond func(*appsv1.StatefulSet, []corev1.Pod) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			kubelet()
			set, err := client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if cond(set, pods.Items) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %d pods, status %+v", what, len(pods.Items), set.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("3 ready pods", func(set *appsv1.StatefulSet, pods []corev1.Pod) bool {
		_, ok := rolloutStatus(set)
		return ok && len(pods) == 3
	})
	set, err := client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	set.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if _, err := client.AppsV1().StatefulSets(ns).Update(ctx, set, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the rollout", func(set *appsv1.StatefulSet, pods []corev1.Pod) bool {
		if _, ok := rolloutStatus(set); !ok {
			return false
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "nginx:2" {
				t.Fatalf("rollout done with %s at %s", p.Name, p.Spec.Containers[0].Image)
			}
		}
		return len(pods) == 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
