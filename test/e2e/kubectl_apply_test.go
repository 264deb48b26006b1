package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestApplyClientSideThenServerSide applies a multi-document manifest,
// changes it, applies it again (three-way merge through the last-applied
// annotation) and then takes it over with server-side apply.
func TestApplyClientSideThenServerSide(t *testing.T) {
	s := startServer(t)
	out := s.mustKubectl("apply", "-f", "testdata/app.yaml")
	contains(t, out, "deployment.apps/web created", "service/web created", "configmap/web-config created", "secret/web-secret created")

	last := s.mustKubectl("get", "deployment", "web", "-o", "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}")
	if !json.Valid([]byte(last)) || !strings.Contains(last, `"replicas":2`) {
		t.Fatalf("last-applied annotation: %q", last)
	}
	// Someone else sets a label: the next apply must keep it (three-way
	// merge), while a key removed from the manifest goes away.
	s.mustKubectl("label", "configmap", "web-config", "owner=ops")
	manifest := readFile(t, "testdata/app.yaml")
	changed := strings.NewReplacer("replicas: 2", "replicas: 3", "  color: blue\n", "", "value: blue", "value: green").Replace(manifest)
	out = s.mustKubectlIn(changed, "apply", "-f", "-")
	// (A Secret with stringData is always "configured", as in Kubernetes.)
	contains(t, out, "deployment.apps/web configured", "configmap/web-config configured", "service/web unchanged")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].env[0].value} {.metadata.generation}"); got != "3 green 2" {
		t.Fatalf("after second apply: %q", got)
	}
	cm := s.mustKubectl("get", "cm", "web-config", "-o", "json")
	if strings.Contains(cm, `"color"`) || !strings.Contains(cm, `"owner": "ops"`) || !strings.Contains(cm, `"greeting": "hello"`) {
		t.Fatalf("three-way merge result:\n%s", cm)
	}

	// Server-side apply takes over; managedFields record the manager.
	out = s.mustKubectlIn(changed, "apply", "--server-side", "-f", "-")
	contains(t, out, "deployment.apps/web serverside-applied")
	mf := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.managedFields[*].manager}", "--show-managed-fields")
	contains(t, mf, "kubectl")

	// A second manager changing an owned field conflicts, unless forced.
	conflicting := strings.Replace(changed, "replicas: 3", "replicas: 5", 1)
	out, err := s.kubectlIn(conflicting, "apply", "--server-side", "--field-manager=other", "-f", "-")
	if err == nil {
		t.Fatalf("apply by another manager should conflict:\n%s", out)
	}
	contains(t, out, "Apply failed with 1 conflict", `conflict with "kubectl"`, ".spec.replicas")
	s.mustKubectlIn(conflicting, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Fatalf("forced apply: replicas %q", got)
	}
}

// TestApplyDryRunAndDiff checks that --dry-run=server writes nothing.
func TestApplyDryRunAndDiff(t *testing.T) {
	s := startServer(t)
	out := s.mustKubectl("apply", "-f", "testdata/app.yaml", "--dry-run=server")
	contains(t, out, "deployment.apps/web created (server dry run)")
	if out, err := s.kubectl("get", "deploy", "web"); err == nil {
		t.Fatalf("dry run created the deployment:\n%s", out)
	}
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	changed := strings.Replace(readFile(t, "testdata/app.yaml"), "replicas: 2", "replicas: 4", 1)
	out, err := s.kubectlIn(changed, "diff", "-f", "-")
	if err == nil || !strings.Contains(out, "-  replicas: 2") || !strings.Contains(out, "+  replicas: 4") {
		t.Fatalf("kubectl diff: %v\n%s", err, out)
	}
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Fatalf("diff changed the object: replicas %q", got)
	}
}
