package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

const (
	listPods    = 10000
	listRuns    = 5
	listTimeout = 60 * time.Second
	mediaProto  = "application/vnd.kubernetes.protobuf"
	acceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
)

// pod is a small pod that stays Pending (no node exists).
func pod(i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Namespace: benchNS,
			Labels: map[string]string{"app": "bench", "shard": fmt.Sprintf("s%d", i%10)}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sleep", "3600"}}}},
	}
}

// listKind is one way of listing the pods. do returns the number of items
// it checked (-1 if it does not decode) and the body size (-1 if the
// client decodes it).
type listKind struct {
	name, how string
	do        func(ctx context.Context) (items, bytes int, err error)
}

// runList creates 10,000 pods and lists them in several forms.
func runList(ctx context.Context, b *bench) ([]result, error) {
	p, err := startServer(ctx, b.skiff, 60*time.Second)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	clients, err := p.clients(concClients, nil)
	if err != nil {
		return nil, err
	}
	if err := setup(ctx, clients...); err != nil {
		return nil, err
	}
	benchutil.Logf("  creating %d pods with %d clients", listPods, concClients)
	lats, elapsed, err := parallel(ctx, concClients, listPods, func(ctx context.Context, w, i int) error {
		_, err := clients[w].CoreV1().Pods(benchNS).Create(ctx, pod(i), metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create pods: %w", err)
	}
	rows := []result{{fmt.Sprintf("create %d pods, %d clients", listPods, concClients),
		fmt.Sprintf("%s, %s", rate(listPods, elapsed), p50p99(lats)),
		fmt.Sprintf("setup for the lists: typed-client Pod creates (1 container, busybox, 2 labels); wall time %s", benchutil.Dur(elapsed))}}
	kinds, err := listKinds(p, clients[0])
	if err != nil {
		return nil, err
	}
	lrows, err := measureLists(ctx, p, kinds)
	if err != nil {
		return rows, err
	}
	rows = append(rows, lrows...)
	return append(rows, p.memRows(fmt.Sprintf("lists (%d pods stored)", listPods))...), nil
}

func listKinds(p *proc, jsonClient *kubernetes.Clientset) ([]listKind, error) {
	protoClients, err := p.clients(1, func(c *rest.Config) {
		c.ContentType, c.AcceptContentTypes = mediaProto, mediaProto
	})
	if err != nil {
		return nil, err
	}
	typed := func(c *kubernetes.Clientset, ns string) func(ctx context.Context) (int, int, error) {
		return func(ctx context.Context) (int, int, error) {
			l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return 0, 0, err
			}
			return len(l.Items), -1, nil
		}
	}
	rc := jsonClient.CoreV1().RESTClient()
	return []listKind{
		{"JSON, client-go typed List", "client-go clientset (JSON), List in the namespace, response decoded into a PodList", typed(jsonClient, benchNS)},
		{"Table, as kubectl get asks", "GET /api/v1/namespaces/" + benchNS + "/pods with Accept `" + acceptTable + "` through client-go's REST client (as kubectl), whole body read, not decoded (rows counted once, untimed)", rawTable(rc)},
		{"protobuf, client-go typed List", "clientset with ContentType/Accept " + mediaProto + ", List decoded into a PodList", typed(protoClients[0], benchNS)},
		{"JSON body only (no client decode)", "the same GET with Accept application/json through client-go's REST client, body read but not decoded: the server's share", raw(rc, "application/json")},
		{"protobuf body only (no client decode)", "the same GET with Accept " + mediaProto + ", body read but not decoded", raw(rc, mediaProto)},
		{"JSON, typed List, all namespaces", "client-go typed List of pods across all namespaces (cluster scope, as in the upstream list SLO)", typed(jsonClient, "")},
	}, nil
}

// restGet reads the whole body of a GET of the bench namespace's pods with
// the Accept header given, through client-go's REST client as kubectl
// does, and checks the response's media type.
func restGet(ctx context.Context, rc rest.Interface, accept string) ([]byte, error) {
	var ct string
	body, err := rc.Get().Namespace(benchNS).Resource("pods").SetHeader("Accept", accept).Do(ctx).ContentType(&ct).Raw()
	if err != nil {
		return nil, err
	}
	want := strings.SplitN(strings.SplitN(accept, ",", 2)[0], ";", 2)[0]
	if !strings.HasPrefix(ct, want) {
		return nil, fmt.Errorf("asked for %s, got Content-Type %q", want, ct)
	}
	return body, nil
}

func raw(rc rest.Interface, accept string) func(ctx context.Context) (int, int, error) {
	return func(ctx context.Context) (int, int, error) {
		body, err := restGet(ctx, rc, accept)
		return -1, len(body), err
	}
}

func rawTable(rc rest.Interface) func(ctx context.Context) (int, int, error) {
	checked := false
	return func(ctx context.Context) (int, int, error) {
		body, err := restGet(ctx, rc, acceptTable)
		if err != nil || checked {
			return -1, len(body), err
		}
		checked = true // the first (warm-up) call checks the rows
		var t metav1.Table
		if err := json.Unmarshal(body, &t); err != nil {
			return 0, 0, fmt.Errorf("decode Table: %w", err)
		}
		if t.Kind != "Table" {
			return 0, 0, fmt.Errorf("got kind %q, not Table", t.Kind)
		}
		return len(t.Rows), len(body), nil
	}
}

// listStats collects one kind's timings.
type listStats struct {
	times []time.Duration
	cpu   time.Duration
	bytes int
}

// measureLists runs every kind once as a warm-up (which also checks the
// item count), then listRuns rounds of every kind in turn, so that noise
// from other work on the machine spreads over all kinds alike.
func measureLists(ctx context.Context, p *proc, kinds []listKind) ([]result, error) {
	stats := make([]listStats, len(kinds))
	pid := p.cmd.Process.Pid
	for round := 0; round <= listRuns; round++ {
		for i, k := range kinds {
			lctx, cancel := context.WithTimeout(ctx, listTimeout)
			cpu0 := benchutil.CPUTime(pid)
			t0 := time.Now()
			n, sz, err := k.do(lctx)
			d := time.Since(t0)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.name, err)
			}
			if n >= 0 && n < listPods {
				return nil, fmt.Errorf("%s: listed %d items, want %d", k.name, n, listPods)
			}
			st := &stats[i]
			if sz >= 0 {
				st.bytes = sz
			}
			if round > 0 {
				st.times = append(st.times, d)
				st.cpu += benchutil.CPUTime(pid) - cpu0
			}
		}
	}
	var rows []result
	for i, k := range kinds {
		st := stats[i]
		benchutil.Logf("  list %s: %s", k.name, benchutil.Durs(st.times))
		value := fmt.Sprintf("median %s, max %s", benchutil.Dur(benchutil.Median(st.times)), benchutil.Dur(benchutil.MaxOf(st.times)))
		if st.bytes > 0 {
			value += ", body " + size(st.bytes)
		}
		how := fmt.Sprintf("%s; %d rounds after 1 warm-up, kinds interleaved; server CPU %s per list", k.how, listRuns, benchutil.Dur(st.cpu/listRuns))
		rows = append(rows, result{fmt.Sprintf("list %d pods: %s", listPods, k.name), value, how})
	}
	return rows, nil
}
