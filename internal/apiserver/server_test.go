package apiserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/registry/catalog"
	"github.com/skiff/skiff/internal/store/storetest"
)

// newTestServer serves the API in-process over a real embedded etcd,
// without authentication, and returns a client for it.
func newTestServer(t *testing.T) kubernetes.Interface {
	return newTestServerWith(t, Config{})
}

// newTestServerWith is newTestServer with extra configuration (the store,
// resources, version and log are filled in).
func newTestServerWith(t *testing.T, cfg Config) kubernetes.Interface {
	t.Helper()
	st, _ := storetest.New(t, nil)
	cfg.Store, cfg.Resources, cfg.Version = st, catalog.Resources(), version.Info{GitVersion: "v1.37.2+test"}
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.EnsureObjects(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	rc := &rest.Config{Host: hs.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 1000, Burst: 1000}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWatchFanOut runs many watchers over one watch cache while writes
// happen; run with -race it checks the shared events are never mutated.
func TestWatchFanOut(t *testing.T) {
	c := newTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cms := c.CoreV1().ConfigMaps("default")
	const watchers, writes = 8, 50
	var wg sync.WaitGroup
	counts := make([]int, watchers)
	ready := make(chan struct{}, watchers)
	for i := 0; i < watchers; i++ {
		opts := metav1.ListOptions{}
		if i%2 == 1 {
			opts.LabelSelector = "n"
		}
		w, err := cms.Watch(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(i int, w watch.Interface) {
			defer wg.Done()
			defer w.Stop()
			ready <- struct{}{}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					counts[i]++
					if counts[i] == writes {
						return
					}
				}
			}
		}(i, w)
	}
	for i := 0; i < watchers; i++ {
		<-ready
	}
	for i := 0; i < writes; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i), Labels: map[string]string{"n": "1"}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, n := range counts {
		if n != writes {
			t.Fatalf("watcher %d saw %d of %d creates", i, n, writes)
		}
	}
}
