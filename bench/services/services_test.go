// Package services measures what the service proxy costs: HTTP requests
// from the host to one test server pod, straight to its pod IP and
// through its Service's cluster IP (DNAT by the nftables rules), on a
// real cluster of the server's node and one agent in a namespace.
//
//	go test ./bench/services -run '^$' -bench . -benchtime 1x
//
// SKIFF_BIN names the skiff binary (default bin/skiff).
package services

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/test/cluster"
	"github.com/skiff/skiff/test/images"
)

// requests per mode and the number of concurrent clients.
const (
	requests    = 4000
	concurrency = 8
)

func BenchmarkServiceProxy(b *testing.B) {
	bin := os.Getenv("SKIFF_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../bin/skiff")
	}
	imgDir := b.TempDir()
	if _, err := images.Build(imgDir); err != nil {
		b.Fatal(err)
	}
	cl := cluster.Start(b, cluster.Config{Skiff: bin, Nodes: 1, ServerAgent: true,
		ServerArgs: []string{"--cluster-dns-upstream", "127.0.0.1:9"},
		Images:     []string{filepath.Join(imgDir, "testserver.tar")}})
	c := cl.Client()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: cl.Nodes[0].Name, Containers: []corev1.Container{{
			Name: "web", Image: "skiff.local/testserver:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var podIP string
	deadline := time.Now().Add(2 * time.Minute)
	for podIP == "" {
		p, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			podIP = p.Status.PodIP
		}
		if time.Now().After(deadline) {
			b.Fatal("pod not running")
		}
		time.Sleep(100 * time.Millisecond)
	}
	targets := []struct{ name, url string }{
		{"pod-ip", "http://" + podIP + ":8080/"},
		{"cluster-ip", "http://" + svc.Spec.ClusterIP + "/"},
	}
	// Wait until the service answers (endpoints and rules in place).
	for !get(targets[1].url) {
		if time.Now().After(deadline) {
			b.Fatal("service never answered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, keepAlive := range []bool{false, true} {
		for _, tgt := range targets {
			name := tgt.name + "/new-connection"
			if keepAlive {
				name = tgt.name + "/keep-alive"
			}
			b.Run(name, func(b *testing.B) {
				for range b.N {
					rps, p50, p99, failed := load(tgt.url, keepAlive)
					b.ReportMetric(rps, "req/s")
					b.ReportMetric(p50.Seconds()*1e3, "p50-ms")
					b.ReportMetric(p99.Seconds()*1e3, "p99-ms")
					b.ReportMetric(float64(failed), "failed")
				}
			})
		}
	}
}

func get(url string) bool {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// load sends requests from concurrency clients and returns the rate,
// latency percentiles and failures.
func load(url string, keepAlive bool) (float64, time.Duration, time.Duration, int) {
	tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: concurrency}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	lat := make([]time.Duration, 0, requests)
	var mu sync.Mutex
	failed := 0
	next := make(chan struct{}, requests)
	for range requests {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				resp, err := client.Get(url)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_ = drain(resp)
				}
				d := time.Since(t0)
				mu.Lock()
				if ok {
					lat = append(lat, d)
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return 0, 0, 0, failed
	}
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100], failed
}

func drain(resp *http.Response) error {
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			return nil
		}
	}
}
