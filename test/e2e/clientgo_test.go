package e2e

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// TestInformerThroughRestart runs a SharedInformerFactory on pods while
// 1000 changes are made and the server restarts in the middle; the
// informer's cache must end with exactly the final state.
func TestInformerThroughRestart(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory := informers.NewSharedInformerFactory(s.client(), 0)
	inf := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	want := map[string]string{} // name -> label value, or absent
	apply := func(c kubernetes.Interface, i int) {
		name := fmt.Sprintf("p%03d", i%150)
		pods := c.CoreV1().Pods("default")
		switch i % 3 {
		case 0:
			_, err := pods.Create(ctx, testPod(name, strconv.Itoa(i)), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				_ = pods.Delete(ctx, name, metav1.DeleteOptions{})
				delete(want, name)
				return
			}
			if err == nil {
				want[name] = strconv.Itoa(i)
			}
		case 1:
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				p.Labels["v"] = strconv.Itoa(i)
				if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err == nil {
					want[name] = strconv.Itoa(i)
				}
			}
		case 2:
			if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err == nil {
				delete(want, name)
			}
		}
	}
	c := s.client()
	start := time.Now()
	for i := 0; i < 500; i++ {
		apply(c, i)
	}
	t.Logf("500 changes in %v", time.Since(start))
	s.restart()
	t.Logf("restarted after %v", time.Since(start))
	c = s.client()
	for i := 500; i < 1000; i++ {
		apply(c, i)
	}
	defer func() {
		if t.Failed() {
			items := inf.GetStore().List()
			got := map[string]string{}
			for _, it := range items {
				p := it.(*corev1.Pod)
				got[p.Name] = p.Labels["v"] + "@" + p.ResourceVersion
			}
			for name, v := range want {
				if g, ok := got[name]; !ok || g[:len(v)] != v {
					t.Logf("want %s=%s, informer has %q", name, v, g)
				}
			}
			for name, g := range got {
				if _, ok := want[name]; !ok {
					t.Logf("informer has extra %s=%s", name, g)
				}
			}
		}
	}()
	eventually(t, 30*time.Second, "informer cache equal to the final state", func() bool {
		items := inf.GetStore().List()
		if len(items) != len(want) {
			return false
		}
		for _, it := range items {
			p := it.(*corev1.Pod)
			if want[p.Name] != p.Labels["v"] {
				return false
			}
		}
		return true
	})
	if len(want) == 0 {
		t.Fatal("test made no lasting changes")
	}
}

func testPod(name, v string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"v": v}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// TestDurabilityKill9 kills the server in the middle of a stream of
// creates; after a restart, every create that was answered 201 is there.
func TestDurabilityKill9(t *testing.T) {
	s := startServer(t)
	c := s.client()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": name}}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
				cancel()
				if err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, name)
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	s.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d creates acknowledged before the kill", len(acked))
	}
	s.start()
	list, err := s.client().CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, cm := range list.Items {
		have[cm.Name] = true
	}
	for _, name := range acked {
		if !have[name] {
			t.Fatalf("acknowledged create %s lost after kill -9 (%d acknowledged, %d present)", name, len(acked), len(have))
		}
	}
	t.Logf("%d acknowledged creates, %d present after restart", len(acked), len(have))
}
