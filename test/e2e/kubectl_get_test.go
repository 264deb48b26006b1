package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestGetOutputFormats checks the printed forms kubectl users rely on.
func TestGetOutputFormats(t *testing.T) {
	// API semantics only: no controller may change the Deployment.
	s := startServer(t, "--disable-controllers")
	s.mustKubectl("apply", "-f", "testdata/app.yaml")

	table := s.mustKubectl("get", "deployments")
	assertLines(t, table, `^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$`, `^web\s+0/2\s+0\s+0\s+\d+s$`)
	wide := s.mustKubectl("get", "deploy", "-o", "wide")
	assertLines(t, wide, `^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$`, `^web\s+0/2\s+0\s+0\s+\d+s\s+web\s+registry.local/web:1.0\s+app=web$`)
	svc := s.mustKubectl("get", "svc", "web")
	assertLines(t, svc, `^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$`, `^web\s+ClusterIP\s+\S+\s+<none>\s+80/TCP\s+\d+s$`)
	assertLines(t, s.mustKubectl("get", "cm", "web-config"), `^NAME\s+DATA\s+AGE$`, `^web-config\s+2\s+\d+s$`)
	assertLines(t, s.mustKubectl("get", "secret", "web-secret"), `^NAME\s+TYPE\s+DATA\s+AGE$`, `^web-secret\s+Opaque\s+1\s+\d+s$`)
	assertLines(t, s.mustKubectl("get", "ns"), `^NAME\s+STATUS\s+AGE$`, `^default\s+Active\s+\d+s$`, `^kube-system\s+Active\s+\d+s$`)
	assertLines(t, s.mustKubectl("get", "deploy", "-A"), `^NAMESPACE\s+NAME\s+READY`, `^default\s+web\s+0/2`)
	assertLines(t, s.mustKubectl("get", "deploy", "--show-labels"), `^web\s+0/2\s+0\s+0\s+\d+s\s+app=web$`)

	var obj map[string]interface{}
	if err := json.Unmarshal([]byte(s.mustKubectl("get", "deploy", "web", "-o", "json")), &obj); err != nil {
		t.Fatalf("-o json: %v", err)
	}
	if obj["apiVersion"] != "apps/v1" || obj["kind"] != "Deployment" {
		t.Fatalf("-o json kind: %v %v", obj["apiVersion"], obj["kind"])
	}
	y := s.mustKubectl("get", "deploy", "web", "-o", "yaml")
	contains(t, y, "apiVersion: apps/v1", "kind: Deployment", "uid: ", "resourceVersion: ", "creationTimestamp: ",
		"maxSurge: 25%", "maxUnavailable: 25%", "revisionHistoryLimit: 10", "progressDeadlineSeconds: 600",
		"terminationMessagePath: /dev/termination-log", "imagePullPolicy: IfNotPresent", "dnsPolicy: ClusterFirst")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.name}:{.spec.template.spec.containers[0].ports[0].containerPort}"); got != "web:8080" {
		t.Fatalf("jsonpath: %q", got)
	}
	if got := s.mustKubectl("get", "cm", "-o", "name"); !strings.Contains(got, "configmap/web-config") {
		t.Fatalf("-o name: %q", got)
	}
	desc := s.mustKubectl("describe", "deployment", "web")
	assertLines(t, desc, `^Name:\s+web$`, `^Namespace:\s+default$`, `^Selector:\s+app=web$`,
		`^Replicas:\s+2 desired \| 0 updated`, `^StrategyType:\s+RollingUpdate$`, `^\s+Image:\s+registry.local/web:1.0$`, `^\s+MODE:\s+blue$`)
	assertLines(t, s.mustKubectl("describe", "svc", "web"), `^Selector:\s+app=web$`, `^Port:\s+http\s+80/TCP$`, `^TargetPort:\s+http/TCP$`)
	assertLines(t, s.mustKubectl("describe", "secret", "web-secret"), `^password:\s+16 bytes$`)
}

// TestGetAllAndDiscovery checks api-resources, api-versions, get all and
// explain.
func TestGetAllAndDiscovery(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	res := s.mustKubectl("api-resources")
	assertLines(t, res,
		`^pods\s+po\s+v1\s+true\s+Pod$`,
		`^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$`,
		`^horizontalpodautoscalers\s+hpa\s+autoscaling/v2\s+true\s+HorizontalPodAutoscaler$`,
		`^cronjobs\s+cj\s+batch/v1\s+true\s+CronJob$`,
		`^clusterroles\s+rbac.authorization.k8s.io/v1\s+false\s+ClusterRole$`,
		`^leases\s+coordination.k8s.io/v1\s+true\s+Lease$`,
		`^endpointslices\s+discovery.k8s.io/v1\s+true\s+EndpointSlice$`,
		`^storageclasses\s+sc\s+storage.k8s.io/v1\s+false\s+StorageClass$`,
		`^poddisruptionbudgets\s+pdb\s+policy/v1\s+true\s+PodDisruptionBudget$`,
		`^events\s+ev\s+events.k8s.io/v1\s+true\s+Event$`)
	vers := s.mustKubectl("api-versions")
	for _, v := range []string{"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1"} {
		assertLines(t, vers, "^"+regexp.QuoteMeta(v)+"$")
	}
	all := s.mustKubectl("get", "all")
	contains(t, all, "service/web", "deployment.apps/web")
	if strings.Contains(all, "configmap") {
		t.Fatalf("get all lists configmaps:\n%s", all)
	}
	contains(t, s.mustKubectl("get", "deploy,svc,cm", "-o", "name"), "deployment.apps/web", "service/web", "configmap/web-config")
	contains(t, s.mustKubectl("explain", "deployment.spec.replicas"), "KIND:       Deployment", "FIELD: replicas <integer>", "Number of desired pods")
	contains(t, s.mustKubectl("explain", "pods"), "KIND:       Pod", "VERSION:    v1", "spec\t<PodSpec>")
	contains(t, s.mustKubectl("get", "--raw", "/version"), `"gitVersion"`)
	contains(t, s.mustKubectl("get", "--raw", "/readyz?verbose"), "[+]etcd ok")
}

// TestGetWatch checks that kubectl get -w prints changes made meanwhile.
func TestGetWatch(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("create", "configmap", "w1", "--from-literal=a=1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, "get", "configmaps", "-w", "--output-watch-events")
	cmd.Env = append(cmd.Environ(), "KUBECONFIG="+s.kubeconfig)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expectLine(t, lines, `^EVENT\s+NAME\s+DATA\s+AGE$`)
	expectLine(t, lines, `^ADDED\s+w1\s+1\s+`)
	s.mustKubectl("create", "configmap", "w2", "--from-literal=a=1", "--from-literal=b=2")
	expectLine(t, lines, `^ADDED\s+w2\s+2\s+`)
	s.mustKubectl("label", "configmap", "w1", "x=y")
	expectLine(t, lines, `^MODIFIED\s+w1\s+1\s+`)
	s.mustKubectl("delete", "configmap", "w2")
	expectLine(t, lines, `^DELETED\s+w2\s+2\s+`)
}

func expectLine(t *testing.T, lines <-chan string, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	timeout := time.After(15 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q; saw %q", pattern, seen)
			}
			if re.MatchString(l) {
				return
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("no line matching %q; saw %q", pattern, seen)
		}
	}
}

// assertLines checks that each pattern matches some line of out.
func assertLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		found := false
		for _, l := range lines {
			if re.MatchString(strings.TrimRight(l, " ")) {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no line matches %q in:\n%s", p, out)
		}
	}
}

var _ = io.EOF
