package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/bench/internal/benchutil"
)

func deployment(name string, replicas int32, tolerationSeconds *int64) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "c", Image: "skiff.local/busybox:1",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}},
				}}},
			},
		},
	}
	if tolerationSeconds != nil {
		for _, key := range []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady} {
			d.Spec.Template.Spec.Tolerations = append(d.Spec.Template.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: tolerationSeconds,
			})
		}
	}
	return d
}

// complete says a Deployment has rolled out: every replica updated and
// available, nothing old left, status current.
func complete(d *appsv1.Deployment) bool {
	want := *d.Spec.Replicas
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want
}

func waitComplete(ctx context.Context, c kubernetes.Interface, name string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d, err := c.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil && complete(d) {
			return time.Now(), nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("deployment %s not rolled out in %v", name, timeout)
}

func runDeployment(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	c, err := startCluster(ctx, b)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if _, err := c.addNodes(ctx, "sim", 100); err != nil {
		return nil, err
	}
	cm0 := benchutil.CPUTime(c.cm.Pid())
	start := time.Now()
	if _, err := c.client.AppsV1().Deployments("default").Create(ctx, deployment("web", 100, nil), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	done, err := waitComplete(ctx, c.client, "web", 3*time.Minute)
	if err != nil {
		return nil, err
	}
	created := done.Sub(start)
	cm1 := benchutil.CPUTime(c.cm.Pid())
	benchutil.Logf("  100 replicas available after %v", created.Round(10*time.Millisecond))
	start = time.Now()
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"skiff.local/busybox:2"}]}}}}`)
	if _, err := c.client.AppsV1().Deployments("default").Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return nil, err
	}
	done, err = waitComplete(ctx, c.client, "web", 5*time.Minute)
	if err != nil {
		return nil, err
	}
	rolled := done.Sub(start)
	cm2 := benchutil.CPUTime(c.cm.Pid())
	how := "100 simulated nodes; from the Create (or template Patch) call until status shows 100 updated, available replicas and no old ones (polled every 50 ms); scheduler and simulated nodes included"
	return []benchutil.Result{
		{Figure: "100-replica Deployment, created to all available", Value: benchutil.Dur(created), How: how},
		{Figure: "rolling update of it (maxSurge 25%, maxUnavailable 25%)", Value: benchutil.Dur(rolled), How: how},
		{Figure: "controller manager CPU", Value: fmt.Sprintf("create %s, rolling update %s", benchutil.Dur(cm1-cm0), benchutil.Dur(cm2-cm1)), How: "utime+stime of `skiff controller-manager` over each phase"},
	}, nil
}

func runMany(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	const n = 1000
	c, err := startCluster(ctx, b)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if _, err := c.addNodes(ctx, "sim", 100); err != nil {
		return nil, err
	}
	idleMem, err := benchutil.MemStatus(c.cm.Pid())
	if err != nil {
		return nil, err
	}
	cm0 := benchutil.CPUTime(c.cm.Pid())
	start := time.Now()
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if _, err := c.client.AppsV1().Deployments("default").Create(ctx, deployment(fmt.Sprintf("d-%04d", i), 1, nil), metav1.CreateOptions{}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	var all time.Duration
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list, err := c.client.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil {
			k := 0
			for i := range list.Items {
				if complete(&list.Items[i]) {
					k++
				}
			}
			if k == n {
				all = time.Since(start)
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("not all %d deployments available in 5 minutes", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	busy := benchutil.CPUTime(c.cm.Pid()) - cm0
	benchutil.Logf("  %d deployments available after %v; idle 30 s", n, all.Round(100*time.Millisecond))
	time.Sleep(20 * time.Second)
	idle0 := benchutil.CPUTime(c.cm.Pid())
	time.Sleep(30 * time.Second)
	idle := benchutil.CPUTime(c.cm.Pid()) - idle0
	mem, err := benchutil.MemStatus(c.cm.Pid())
	if err != nil {
		return nil, err
	}
	return []benchutil.Result{
		{Figure: "1,000 Deployments of 1 replica, first create to all available", Value: benchutil.Dur(all), How: "16 concurrent creators, 100 simulated nodes; all 1,000 Deployments' status complete (polled every 200 ms)"},
		{Figure: "controller manager CPU for them", Value: benchutil.Dur(busy), How: "utime+stime of `skiff controller-manager` from the first create until all were available"},
		{Figure: "controller manager CPU idle with them", Value: fmt.Sprintf("%s over 30 s = %.2f %% of one core", benchutil.Dur(idle), 100*idle.Seconds()/30), How: "after 20 s of settling"},
		{Figure: "controller manager RSS, no workloads / 1,000 Deployments", Value: idleMem.String() + " / " + mem.String(), How: "/proc/PID/status; 1,000 Deployments, 1,000 ReplicaSets, 1,000 pods, 100 nodes in its caches"},
	}, nil
}

func runNodeLoss(ctx context.Context, b *bench) ([]benchutil.Result, error) {
	c, err := startCluster(ctx, b)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	lost, err := c.addNodes(ctx, "lost", 1)
	if err != nil {
		return nil, err
	}
	// The other nodes join once the pods sit on the lost one.
	for _, d := range []*appsv1.Deployment{deployment("fast", 10, ptr.To[int64](0)), deployment("default", 10, nil)} {
		if _, err := c.client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		if _, err := waitComplete(ctx, c.client, d.Name, 2*time.Minute); err != nil {
			return nil, err
		}
	}
	if _, err := c.addNodes(ctx, "healthy", 5); err != nil {
		return nil, err
	}
	lost.Kill()
	lease, err := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "lost-0", metav1.GetOptions{})
	if err != nil || lease.Spec.RenewTime == nil {
		return nil, fmt.Errorf("lease of lost-0: %v", err)
	}
	last := lease.Spec.RenewTime.Time
	benchutil.Logf("  lost-0 killed; last heartbeat %v ago; waiting for its pods to run elsewhere (up to 7 minutes)", time.Since(last).Round(100*time.Millisecond))
	moved := map[string]time.Duration{}
	deadline := time.Now().Add(7 * time.Minute)
	for len(moved) < 2 {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("pods not replaced in time (done: %v)", moved)
		}
		for _, app := range []string{"fast", "default"} {
			if _, ok := moved[app]; ok {
				continue
			}
			list, err := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err != nil {
				continue
			}
			running := 0
			for _, p := range list.Items {
				if p.DeletionTimestamp == nil && p.Spec.NodeName != "lost-0" && p.Status.Phase == corev1.PodRunning {
					running++
				}
			}
			if running == 10 {
				moved[app] = time.Since(last)
				benchutil.Logf("  %s: 10 pods running elsewhere %v after the last heartbeat", app, moved[app].Round(100*time.Millisecond))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	how := "10 pods on the only node, 5 more nodes joined, then the node's simulator killed; from the node Lease's last renewTime until 10 pods run on other nodes; --node-monitor-grace-period 40 s (default)"
	return []benchutil.Result{
		{Figure: "node lost to pods running elsewhere, tolerationSeconds 0", Value: benchutil.Dur(moved["fast"]), How: how},
		{Figure: "node lost to pods running elsewhere, default toleration (300 s)", Value: benchutil.Dur(moved["default"]), How: how},
	}, nil
}
