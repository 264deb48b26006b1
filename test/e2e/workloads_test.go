package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: skiff.local/busybox:1
        command: ["sleep", "3600"]
`

// rolloutWatch follows the pods of app=web and records the extremes the
// rolling update must stay within: the most pods that exist (not being
// deleted) and the fewest that are ready, once the first rollout is done.
type rolloutWatch struct {
	mu       sync.Mutex
	pods     map[string]*corev1.Pod
	maxExist int
	minReady int
	armed    bool
	states   int
	cancel   context.CancelFunc
	done     chan struct{}
}

func watchRollout(t *testing.T, c kubernetes.Interface) *rolloutWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rw := &rolloutWatch{pods: map[string]*corev1.Pod{}, minReady: 1 << 30, cancel: cancel, done: make(chan struct{})}
	list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		rw.pods[list.Items[i].Name] = &list.Items[i]
	}
	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=web", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(rw.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			rw.mu.Lock()
			if ev.Type == watch.Deleted {
				delete(rw.pods, p.Name)
			} else {
				rw.pods[p.Name] = p
			}
			rw.observeLocked()
			rw.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-rw.done })
	return rw
}

// observeLocked checks one state of the pods.
func (rw *rolloutWatch) observeLocked() {
	if !rw.armed {
		return
	}
	exist, readyN := 0, 0
	for _, p := range rw.pods {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		exist++
		if ready(p) {
			readyN++
		}
	}
	rw.states++
	rw.maxExist = max(rw.maxExist, exist)
	rw.minReady = min(rw.minReady, readyN)
}

// arm starts checking from the current state on.
func (rw *rolloutWatch) arm() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.armed = true
	rw.observeLocked()
}

func (rw *rolloutWatch) check(t *testing.T, what string, maxExist, minReady int) {
	t.Helper()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	t.Logf("%s: %d states seen, at most %d pods, at least %d ready", what, rw.states, rw.maxExist, rw.minReady)
	if rw.maxExist > maxExist {
		t.Fatalf("%s: %d pods existed at once, want at most replicas+maxSurge = %d", what, rw.maxExist, maxExist)
	}
	if rw.minReady < minReady {
		t.Fatalf("%s: only %d pods were ready at one point, want at least replicas-maxUnavailable = %d", what, rw.minReady, minReady)
	}
	if rw.states < 2 {
		t.Fatalf("%s: the watch saw no rollout", what)
	}
}

// TestDeploymentRollout drives a Deployment of real pods through the
// kubectl workflow: rollout, set image, history, a stalled rollout, undo,
// pause/resume and restart, checking the rolling update's bounds at every
// pod state the watch reports.
func TestDeploymentRollout(t *testing.T) {
	s := startNodeServer(t)
	c := s.client()
	s.mustKubectlIn(webDeployment, "apply", "-f", "-")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	assertLines(t, s.mustKubectl("get", "deployment", "web"), `^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$`, `^web\s+4/4\s+4\s+4\s+\S+$`)

	rw := watchRollout(t, c)
	rw.arm()
	s.mustKubectl("set", "image", "deployment/web", "web=skiff.local/busybox:2")
	s.mustKubectl("annotate", "deployment/web", "kubernetes.io/change-cause=busybox 2")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	rw.check(t, "set image", 5, 3)
	assertLines(t, s.mustKubectl("rollout", "history", "deployment/web"),
		`^REVISION\s+CHANGE-CAUSE$`, `^1\s+<none>$`, `^2\s+busybox 2$`)
	// The controller records the revision through /status.
	if rev := s.mustKubectl("get", "deployment", "web", "-o", `jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}`); rev != "2" {
		t.Fatalf("deployment revision annotation %q, want 2", rev)
	}
	if n := strings.Count(s.mustKubectl("get", "rs", "-l", "app=web", "--no-headers"), "\n"); n != 2 {
		t.Fatalf("%d ReplicaSets, want 2", n)
	}

	// A rollout to an image that cannot be pulled stalls at the deadline;
	// the old pods keep serving.
	s.mustKubectl("patch", "deployment/web", "-p", `{"spec":{"progressDeadlineSeconds":10}}`)
	s.mustKubectl("set", "image", "deployment/web", "web=skiff.local/missing:1")
	out, err := s.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
	if err == nil || !strings.Contains(out, `deployment "web" exceeded its progress deadline`) {
		t.Fatalf("rollout status of a broken image: err %v, output:\n%s", err, out)
	}
	contains(t, s.mustKubectl("get", "deployment", "web", "-o", "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}"), "ProgressDeadlineExceeded")
	rw.check(t, "broken image", 5, 3)

	// Undo returns to the previous template.
	s.mustKubectl("rollout", "undo", "deployment/web")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	if img := s.mustKubectl("get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "skiff.local/busybox:2" {
		t.Fatalf("after undo the image is %q, want skiff.local/busybox:2", img)
	}
	s.mustKubectl("rollout", "undo", "deployment/web", "--to-revision=1")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	if img := s.mustKubectl("get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); img != "skiff.local/busybox:1" {
		t.Fatalf("after undo --to-revision=1 the image is %q", img)
	}
	rw.check(t, "undo", 5, 3)

	// Paused: a template change waits for resume.
	s.mustKubectl("rollout", "pause", "deployment/web")
	s.mustKubectl("set", "image", "deployment/web", "web=skiff.local/busybox:2")
	time.Sleep(2 * time.Second)
	if got := s.mustKubectl("get", "deployment", "web", "-o", "jsonpath={.status.updatedReplicas}"); got != "0" && got != "" {
		t.Fatalf("paused deployment rolled out: updatedReplicas %q", got)
	}
	s.mustKubectl("rollout", "resume", "deployment/web")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)

	// Restart replaces every pod.
	before := podNames(t, c, "app=web")
	s.mustKubectl("rollout", "restart", "deployment/web")
	contains(t, s.mustKubectl("rollout", "status", "deployment/web", "--timeout=90s"), `deployment "web" successfully rolled out`)
	eventually(t, 30*time.Second, "old pods gone after restart", func() bool {
		for n := range podNames(t, c, "app=web") {
			if before[n] {
				return false
			}
		}
		return true
	})
	rw.check(t, "whole test", 5, 3)
	var events string
	eventually(t, 10*time.Second, "ScalingReplicaSet events", func() bool {
		events, _ = s.kubectl("get", "events", "--field-selector", "reason=ScalingReplicaSet", "--no-headers")
		return strings.Contains(events, "Scaled up replica set web-")
	})
	contains(t, events, "deployment/web", "Scaled down replica set web-")
}

func podNames(t *testing.T, c kubernetes.Interface, selector string) map[string]bool {
	t.Helper()
	list, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = true
		}
	}
	return out
}

// readyCount counts the ready pods of selector not being deleted.
func readyCount(c kubernetes.Interface, selector string) int {
	list, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return -1
	}
	n := 0
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil && ready(&list.Items[i]) {
			n++
		}
	}
	return n
}

// TestReplicaSetHealsAndScales: a deleted pod is replaced; kubectl scale
// goes 4 -> 10 -> 2.
func TestReplicaSetHealsAndScales(t *testing.T) {
	s := startNodeServer(t)
	c := s.client()
	s.mustKubectlIn(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: pool
spec:
  replicas: 4
  selector: {matchLabels: {app: pool}}
  template:
    metadata: {labels: {app: pool}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: skiff.local/busybox:1
        command: ["sleep", "3600"]
`, "apply", "-f", "-")
	eventually(t, 60*time.Second, "4 ready", func() bool { return readyCount(c, "app=pool") == 4 })
	assertLines(t, s.mustKubectl("get", "rs", "pool"), `^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$`, `^pool\s+4\s+4\s+4\s+\S+$`)
	names := podNames(t, c, "app=pool")
	var victim string
	for n := range names {
		victim = n
		break
	}
	s.mustKubectl("delete", "pod", victim, "--wait=false")
	eventually(t, 60*time.Second, "replacement ready", func() bool {
		now := podNames(t, c, "app=pool")
		return !now[victim] && len(now) == 4 && readyCount(c, "app=pool") == 4
	})
	contains(t, s.mustKubectl("describe", "rs", "pool"), "SuccessfulCreate", "Created pod: pool-")

	s.mustKubectl("scale", "rs", "pool", "--replicas=10")
	eventually(t, 90*time.Second, "10 ready", func() bool { return readyCount(c, "app=pool") == 10 })
	s.mustKubectl("scale", "rs", "pool", "--replicas=2")
	eventually(t, 60*time.Second, "2 left", func() bool { return len(podNames(t, c, "app=pool")) == 2 })
	eventually(t, 30*time.Second, "status 2/2", func() bool {
		out, _ := s.kubectl("get", "rs", "pool", "-o", "jsonpath={.status.replicas}/{.status.readyReplicas}/{.status.availableReplicas}")
		return out == "2/2/2"
	})
	contains(t, s.mustKubectl("describe", "rs", "pool"), "SuccessfulDelete")
}

// TestDeploymentCascade deletes Deployments with each propagation policy
// (on simulated nodes: only the API objects matter).
func TestDeploymentCascade(t *testing.T) {
	s := startServer(t)
	startSimulator(t, s, "--simulate", "2", "--simulate-prefix", "cascade")
	c := s.client()
	for _, mode := range []string{"background", "foreground", "orphan"} {
		t.Run(mode, func(t *testing.T) {
			name := "d-" + mode
			s.mustKubectl("create", "deployment", name, "--image=skiff.local/busybox:1", "--replicas=2")
			contains(t, s.mustKubectl("rollout", "status", "deployment/"+name, "--timeout=60s"), "successfully rolled out")
			sel := "app=" + name
			s.mustKubectl("delete", "deployment", name, "--cascade="+mode)
			switch mode {
			case "orphan":
				rs := s.mustKubectl("get", "rs", "-l", sel, "-o", "jsonpath={.items[0].metadata.ownerReferences}")
				if rs != "" {
					t.Fatalf("orphaned ReplicaSet still has owners: %s", rs)
				}
				if n := len(podNames(t, c, sel)); n != 2 {
					t.Fatalf("%d pods after an orphaning delete, want 2", n)
				}
				s.mustKubectl("delete", "rs", "-l", sel)
			default:
				eventually(t, 30*time.Second, "ReplicaSet and pods gone", func() bool {
					out, _ := s.kubectl("get", "rs,pods", "-l", sel, "-o", "name")
					return strings.TrimSpace(out) == ""
				})
			}
			if _, err := s.kubectl("get", "deployment", name); err == nil {
				t.Fatalf("deployment %s still there", name)
			}
		})
	}
	// Foreground: the owner stays, with the foregroundDeletion finalizer,
	// until its dependents are gone.
	s.mustKubectl("create", "deployment", "held", "--image=skiff.local/busybox:1", "--replicas=1")
	contains(t, s.mustKubectl("rollout", "status", "deployment/held", "--timeout=60s"), "successfully rolled out")
	rs := strings.TrimSpace(s.mustKubectl("get", "rs", "-l", "app=held", "-o", "name"))
	s.mustKubectl("patch", rs, "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.skiff.dev/hold"]}}`)
	s.mustKubectl("delete", "deployment", "held", "--cascade=foreground", "--wait=false")
	eventually(t, 20*time.Second, "deployment held in foreground deletion", func() bool {
		out, _ := s.kubectl("get", "deployment", "held", "-o", "jsonpath={.metadata.finalizers}")
		return strings.Contains(out, "foregroundDeletion")
	})
	s.mustKubectl("patch", rs, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	eventually(t, 30*time.Second, "deployment gone after its ReplicaSet", func() bool {
		_, err := s.kubectl("get", "deployment", "held")
		return err != nil
	})
}

// TestNamespaceWithWorkloadsDeleted: deleting a namespace removes its
// Deployments, ReplicaSets and pods, then the namespace.
func TestNamespaceWithWorkloadsDeleted(t *testing.T) {
	s := startServer(t)
	startSimulator(t, s, "--simulate", "2", "--simulate-prefix", "nsdel")
	s.mustKubectl("create", "namespace", "shop")
	s.mustKubectl("create", "deployment", "cart", "-n", "shop", "--image=skiff.local/busybox:1", "--replicas=3")
	contains(t, s.mustKubectl("rollout", "status", "deployment/cart", "-n", "shop", "--timeout=60s"), "successfully rolled out")
	s.mustKubectl("delete", "namespace", "shop", "--timeout=60s")
	if _, err := s.kubectl("get", "namespace", "shop"); err == nil {
		t.Fatal("namespace shop still exists")
	}
	out, _ := s.kubectl("get", "deployments,rs,pods", "-n", "shop", "-o", "name")
	if strings.TrimSpace(out) != "" {
		t.Fatalf("left in the deleted namespace:\n%s", out)
	}
}

// TestNodeLossReplacesPods: a simulated node stops heartbeating; it goes
// Unknown with the unreachable taint, its pods (tolerationSeconds 0) are
// evicted, and the ReplicaSet's replacements run on the other node.
func TestNodeLossReplacesPods(t *testing.T) {
	s := startServer(t, "--node-monitor-grace-period", "5s")
	doomed := startSimulator(t, s, "--simulate", "1", "--simulate-prefix", "doomed")
	startSimulator(t, s, "--simulate", "1", "--simulate-prefix", "healthy")
	c := s.client()
	eventually(t, 30*time.Second, "2 nodes Ready", func() bool {
		out, _ := s.kubectl("get", "nodes", "--no-headers")
		return strings.Count(out, " Ready ") == 2
	})
	s.mustKubectlIn(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc
spec:
  replicas: 4
  selector: {matchLabels: {app: svc}}
  template:
    metadata: {labels: {app: svc}}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 0}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 0}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: svc}}}
      containers:
      - {name: c, image: skiff.local/busybox:1}
`, "apply", "-f", "-")
	contains(t, s.mustKubectl("rollout", "status", "deployment/svc", "--timeout=60s"), "successfully rolled out")
	onDoomed := func() int {
		list, _ := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=svc", FieldSelector: "spec.nodeName=doomed-0"})
		n := 0
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				n++
			}
		}
		return n
	}
	if n := onDoomed(); n == 0 {
		t.Fatal("no pod on doomed-0 before the loss (spread prefers 2)")
	}
	lost := time.Now()
	doomed.kill()
	eventually(t, 60*time.Second, "doomed-0 Unknown and tainted unreachable", func() bool {
		out, _ := s.kubectl("get", "node", "doomed-0", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}`)
		return strings.HasPrefix(out, "Unknown ") && strings.Contains(out, "node.kubernetes.io/unreachable")
	})
	assertLines(t, s.mustKubectl("get", "nodes"), `^doomed-0\s+NotReady\s`)
	eventually(t, 60*time.Second, "4 pods running on healthy-0", func() bool {
		list, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=svc", FieldSelector: "spec.nodeName=healthy-0"})
		if err != nil {
			return false
		}
		n := 0
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				n++
			}
		}
		return n == 4
	})
	t.Logf("pods replaced %v after the node's agent was killed (grace period 5s)", time.Since(lost).Round(100*time.Millisecond))
	if n := onDoomed(); n != 0 {
		t.Fatalf("%d pods on the lost node not evicted", n)
	}
	contains(t, s.mustKubectl("get", "events", "--field-selector", "reason=TaintManagerEviction", "--no-headers"), "Marking for deletion Pod default/svc-")
}
