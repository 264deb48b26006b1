package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// svcBackends is n testserver pods labelled app=web with a readiness
// probe on /healthz, a preStop sleep and a grace period that lets the
// proxies drop a terminating pod before it stops serving.
func svcBackends(n int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	grace := int64(5)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "web", Image: "skiff.local/testserver:1",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
							PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1,
						},
						Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
							Exec: &corev1.ExecAction{Command: []string{"/testserver", "sleep", "2"}},
						}},
					}},
				},
			},
		},
	}
}

func webService(name string, typ corev1.ServiceType, headless bool) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type: typ, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return svc
}

// readyEndpoints returns the ready addresses of a service's slices.
func readyEndpoints(t *testing.T, c kubernetes.Interface, ns, svc string) []string {
	t.Helper()
	list, err := c.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				out = append(out, e.Addresses...)
			}
		}
	}
	sort.Strings(out)
	return out
}

func waitReadyEndpoints(t *testing.T, c kubernetes.Interface, ns, svc string, n int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(90 * time.Second)
	for {
		if got = readyEndpoints(t, c, ns, svc); len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s has ready endpoints %v, want %d", svc, got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// webPods returns the names and IPs of the running web pods.
func webPods(t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	pods, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			out[p.Name] = p.Status.PodIP
		}
	}
	return out
}

// TestServices drives a Deployment of 3 test servers behind ClusterIP,
// NodePort, headless and ClientIP-affinity services on a 3-node cluster
// (the server's own node and two in namespaces): requests by service name
// from a pod, readiness, scaling, node ports from the host, DNS records
// from pods and from the host.
func TestServices(t *testing.T) {
	cl := startCluster(t, 2, true, "--cluster-dns-upstream", "127.0.0.1:9")
	c := cl.Client()
	ctx := context.Background()
	if _, err := c.AppsV1().Deployments("default").Create(ctx, svcBackends(3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svcs := c.CoreV1().Services("default")
	web, err := svcs.Create(ctx, webService("web", corev1.ServiceTypeNodePort, false), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, webService("web-headless", "", true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sticky := webService("web-sticky", "", false)
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	if _, err := svcs.Create(ctx, sticky, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitReadyEndpoints(t, c, "default", "web", 3)

	t.Run("by name from a pod, all backends", func(t *testing.T) {
		rep := getFrom(t, c, "default", "client-300", "", 300, "http://web/")
		if rep.OK != 300 || rep.Failed != 0 || len(rep.Hosts) != 3 {
			t.Fatalf("300 requests to web: %+v", rep)
		}
		for _, n := range rep.Hosts {
			if n < 30 {
				t.Errorf("uneven spread over the backends: %v", rep.Hosts)
			}
		}
	})

	t.Run("unready pod gets nothing", func(t *testing.T) {
		pods := webPods(t, c)
		var sick, sickIP string
		for name, ip := range pods {
			sick, sickIP = name, ip
			break
		}
		// /fail makes the pod's /healthz fail: readiness drops it.
		if rep := getFrom(t, c, "default", "make-sick", "", 1, "http://"+sickIP+":8080/fail"); rep.OK != 1 {
			t.Fatalf("fail %s: %+v", sick, rep)
		}
		waitReadyEndpoints(t, c, "default", "web", 2)
		rep := getFrom(t, c, "default", "client-unready", "", 100, "http://web.default.svc.cluster.local/")
		if rep.OK != 100 || rep.Hosts[sick] != 0 || len(rep.Hosts) != 2 {
			t.Errorf("with %s unready: %+v", sick, rep)
		}
		if rep := getFrom(t, c, "default", "make-well", "", 1, "http://"+sickIP+":8080/recover"); rep.OK != 1 {
			t.Fatalf("recover %s: %+v", sick, rep)
		}
		waitReadyEndpoints(t, c, "default", "web", 3)
	})

	t.Run("scale to 5", func(t *testing.T) {
		start := time.Now()
		if _, err := cl.Kubectl("scale", "deployment/web", "--replicas=5"); err != nil {
			t.Fatal(err)
		}
		waitReadyEndpoints(t, c, "default", "web", 5)
		t.Logf("5 ready endpoints %s after the scale", time.Since(start).Round(time.Millisecond))
		rep := getFrom(t, c, "default", "client-5", "", 200, "http://web/")
		if rep.OK != 200 || len(rep.Hosts) != 5 {
			t.Errorf("after scaling to 5: %+v", rep)
		}
	})

	t.Run("node port from the host", func(t *testing.T) {
		port := web.Spec.Ports[0].NodePort
		for _, n := range cl.Nodes {
			out, err := exec.Command("curl", "-s", "--max-time", "3", fmt.Sprintf("http://%s:%d/", n.IP, port)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), `"hostname":"web-`) {
				t.Errorf("node port %d on %s: %v %s", port, n.IP, err, out)
			}
		}
	})

	t.Run("cluster IP from the host", func(t *testing.T) {
		out, err := exec.Command("curl", "-s", "--max-time", "3", "http://"+web.Spec.ClusterIP+"/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"hostname":"web-`) {
			t.Errorf("cluster IP %s from the host: %v %s", web.Spec.ClusterIP, err, out)
		}
	})

	t.Run("session affinity", func(t *testing.T) {
		rep := getFrom(t, c, "default", "client-sticky", "", 50, "http://web-sticky/")
		if rep.OK != 50 || len(rep.Hosts) != 1 {
			t.Errorf("ClientIP affinity: %+v", rep)
		}
	})

	t.Run("DNS from a pod", func(t *testing.T) {
		pods := webPods(t, c)
		out := runClient(t, c, "default", "lookup-headless", "", "lookup", "web-headless")
		got := strings.Fields(out)
		if len(got) != len(pods) {
			t.Errorf("headless A records %v, want the %d pod IPs %v", got, len(pods), pods)
		}
		out = runClient(t, c, "default", "lookup-srv", "", "lookup", "--type", "SRV", "_http._tcp.web.default.svc.cluster.local")
		if !strings.Contains(out, "web.default.svc.cluster.local. 80") {
			t.Errorf("SRV for the named port: %q", out)
		}
		out = runClient(t, c, "default", "lookup-web", "", "lookup", "web")
		if strings.TrimSpace(out) != web.Spec.ClusterIP {
			t.Errorf("web resolves to %q, want %s", out, web.Spec.ClusterIP)
		}
	})

	t.Run("rolling update under load", func(t *testing.T) {
		// A client sends a bounded stream of requests (600, 20 ms apart)
		// while the Deployment rolls every pod.
		client := netPod("client-rolling", "", nil, "get", "--count", "600", "--interval", "20ms", "http://web/")
		client.Spec.RestartPolicy = corev1.RestartPolicyNever
		client.Spec.Containers[0].Ports = nil
		if _, err := c.CoreV1().Pods("default").Create(ctx, client, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, c, "client-rolling", time.Minute, "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		start := time.Now()
		if out, err := cl.Kubectl("rollout", "restart", "deployment/web"); err != nil {
			t.Fatalf("rollout restart: %v %s", err, out)
		}
		if out, err := cl.Kubectl("rollout", "status", "deployment/web", "--timeout=120s"); err != nil {
			t.Fatalf("rollout status: %v %s", err, out)
		}
		t.Logf("rolled 5 pods in %s", time.Since(start).Round(time.Millisecond))
		waitPod(t, c, "client-rolling", 2*time.Minute, "finished", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		out, err := c.CoreV1().Pods("default").GetLogs("client-rolling", &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rep getReport
		if err := json.Unmarshal([]byte(lastLine(string(out))), &rep); err != nil {
			t.Fatalf("report %q: %v", out, err)
		}
		t.Logf("during the rolling update: %d of 600 requests failed (%v), %d backends answered", rep.Failed, rep.Errors, len(rep.Hosts))
		// The goal is zero; more than a handful means endpoints lag.
		if rep.OK+rep.Failed != 600 || rep.Failed > 6 {
			t.Errorf("rolling update: %+v", rep)
		}
	})

	t.Run("DNS from the host", func(t *testing.T) {
		out, err := exec.Command("dig", "+short", "+time=2", "+tries=2", "@10.43.0.10", "web.default.svc.cluster.local").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != web.Spec.ClusterIP {
			t.Errorf("dig web: %v %q, want %s", err, out, web.Spec.ClusterIP)
		}
		out, err = exec.Command("dig", "+short", "+time=2", "+tries=2", "@10.43.0.10", "kubernetes.default.svc.cluster.local").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "10.43.0.1" {
			t.Errorf("dig kubernetes: %v %q", err, out)
		}
	})
}

// TestServiceAllocationErrors: kubectl gets Kubernetes' messages for a
// taken or out-of-range cluster IP or node port, nothing is stored for a
// refused service, and a deleted service's IP can be taken again.
func TestServiceAllocationErrors(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("create", "service", "clusterip", "a", "--tcp=80", "--clusterip=10.43.0.50")
	out, err := s.kubectl("create", "service", "clusterip", "b", "--tcp=80", "--clusterip=10.43.0.50")
	if err == nil {
		t.Fatal("a taken cluster IP was accepted")
	}
	contains(t, out, `Service "b" is invalid: spec.clusterIPs[0]: Invalid value: "10.43.0.50": failed to allocate IP 10.43.0.50: provided IP is already allocated`)
	out, _ = s.kubectl("create", "service", "clusterip", "b", "--tcp=80", "--clusterip=10.99.0.1")
	contains(t, out, "the provided IP (10.99.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16")
	out, _ = s.kubectl("create", "service", "nodeport", "b", "--tcp=80", "--node-port=31000")
	contains(t, out, "service/b created")
	out, _ = s.kubectl("create", "service", "nodeport", "c", "--tcp=80", "--node-port=31000")
	contains(t, out, "spec.ports[0].nodePort: Invalid value: 31000: provided port is already allocated")
	out, _ = s.kubectl("create", "service", "nodeport", "c", "--tcp=80", "--node-port=40000")
	contains(t, out, "provided port is not in the valid range. The range of valid ports is 30000-32767")
	if out, _ := s.kubectl("get", "service", "c"); !strings.Contains(out, "NotFound") {
		t.Errorf("a refused service was stored: %s", out)
	}
	s.mustKubectl("delete", "service", "a")
	s.mustKubectl("create", "service", "clusterip", "d", "--tcp=80", "--clusterip=10.43.0.50")
}
