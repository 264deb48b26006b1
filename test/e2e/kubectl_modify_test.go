package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLabelAnnotatePatch covers label, annotate and the three patch types.
func TestLabelAnnotatePatch(t *testing.T) {
	// API semantics only: no controller may change the Deployment.
	s := startServer(t, "--disable-controllers")
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	contains(t, s.mustKubectl("label", "deploy", "web", "tier=frontend"), "deployment.apps/web labeled")
	contains(t, s.mustKubectl("annotate", "deploy", "web", "team=payments"), "deployment.apps/web annotated")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.labels.tier}/{.metadata.annotations.team}"); got != "frontend/payments" {
		t.Fatalf("label/annotate: %q", got)
	}
	out, err := s.kubectl("label", "deploy", "web", "tier=backend")
	if err == nil || !strings.Contains(out, "'tier' already has a value (frontend), and --overwrite is false") {
		t.Fatalf("relabel without --overwrite: %v\n%s", err, out)
	}
	s.mustKubectl("label", "deploy", "web", "tier-")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.labels}"); strings.Contains(got, "tier") {
		t.Fatalf("label not removed: %s", got)
	}

	s.mustKubectl("patch", "deploy", "web", "--type=merge", "-p", `{"spec":{"replicas":4}}`)
	s.mustKubectl("patch", "deploy", "web", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.local/web:2.0"}]`)
	// A strategic merge patch merges the container list by name.
	s.mustKubectl("patch", "deploy", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.local/proxy:1"}]}}}}`)
	got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[*].name} {.spec.template.spec.containers[*].image} {.metadata.generation}")
	// generation: 1, +1 for the annotation (Deployments count those), +3 patches.
	if got != "4 sidecar web registry.local/proxy:1 registry.local/web:2.0 5" && got != "4 web sidecar registry.local/web:2.0 registry.local/proxy:1 5" {
		t.Fatalf("after patches: %q", got)
	}
	out, err = s.kubectl("patch", "deploy", "web", "--type=json", "-p", `[{"op":"test","path":"/spec/replicas","value":9}]`)
	if err == nil {
		t.Fatalf("failed json patch test op accepted:\n%s", out)
	}
	// Status never changes through the main resource.
	s.mustKubectl("patch", "deploy", "web", "--type=merge", "-p", `{"status":{"replicas":7}}`)
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.status.replicas}"); got != "" {
		t.Fatalf("status changed through the main resource: %q", got)
	}
	s.mustKubectl("patch", "deploy", "web", "--subresource=status", "--type=merge", "-p", `{"status":{"replicas":7}}`)
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.status.replicas} {.metadata.generation}"); got != "7 5" {
		t.Fatalf("status patch: %q", got)
	}
	contains(t, s.mustKubectl("scale", "deploy", "web", "--replicas=1"), "deployment.apps/web scaled")
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "1" {
		t.Fatalf("scale: %q", got)
	}
}

// TestEdit drives kubectl edit with an editor script.
func TestEdit(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("apply", "-f", "testdata/app.yaml")
	editor := filepath.Join(t.TempDir(), "editor.sh")
	script := "#!/bin/sh\nsed -i 's/greeting: hello/greeting: edited/' \"$1\"\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := s.kubectlEnv("", []string{"KUBE_EDITOR=" + editor}, "edit", "configmap", "web-config")
	if err != nil {
		t.Fatalf("kubectl edit: %v\n%s", err, out)
	}
	contains(t, out, "configmap/web-config edited")
	if got := s.mustKubectl("get", "cm", "web-config", "-o", "jsonpath={.data.greeting}"); got != "edited" {
		t.Fatalf("after edit: %q", got)
	}
	// An edit that breaks validation is refused and nothing changes.
	bad := filepath.Join(t.TempDir(), "bad.sh")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\nsed -i 's/image: registry.local\\/web:1.0/image: \"\"/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, _ = s.kubectlEnv("", []string{"KUBE_EDITOR=" + bad}, "edit", "deployment", "web")
	contains(t, out, `error: deployments.apps "web" is invalid`)
	m := regexp.MustCompile(`stored to "([^"]+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("kubectl edit kept no copy:\n%s", out)
	}
	contains(t, readFile(t, m[1]), `# deployments.apps "web" was not valid:`, `spec.template.spec.containers[0].image: Required value`)
	_ = os.Remove(m[1])
	if got := s.mustKubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "registry.local/web:1.0" {
		t.Fatalf("invalid edit changed the object: %q", got)
	}
}

// TestDeleteCascade deletes an owner with each --cascade mode.
func TestDeleteCascade(t *testing.T) {
	s := startServer(t)
	for _, mode := range []string{"background", "foreground", "orphan"} {
		t.Run(mode, func(t *testing.T) {
			s.mustKubectl("create", "configmap", "owner-"+mode)
			uid := s.mustKubectl("get", "cm", "owner-"+mode, "-o", "jsonpath={.metadata.uid}")
			dep := `apiVersion: v1
kind: ConfigMap
metadata:
  name: dep-` + mode + `
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner-` + mode + `
    uid: ` + uid + `
    blockOwnerDeletion: true
`
			s.mustKubectlIn(dep, "apply", "-f", "-")
			s.mustKubectl("delete", "cm", "owner-"+mode, "--cascade="+mode, "--timeout=30s")
			if out, err := s.kubectl("get", "cm", "owner-"+mode); err == nil {
				t.Fatalf("owner still there:\n%s", out)
			}
			if mode == "orphan" {
				if got := s.mustKubectl("get", "cm", "dep-orphan", "-o", "jsonpath={.metadata.ownerReferences}"); got != "" {
					t.Fatalf("orphaned dependent keeps owner references: %s", got)
				}
				return
			}
			eventually(t, 20*time.Second, "dependent deleted", func() bool {
				_, err := s.kubectl("get", "cm", "dep-"+mode)
				return err != nil
			})
		})
	}
	// A dependent whose owner never existed is collected.
	s.mustKubectlIn(`apiVersion: v1
kind: ConfigMap
metadata:
  name: dangling
  ownerReferences:
  - apiVersion: apps/v1
    kind: Deployment
    name: ghost
    uid: 6a9e0ad9-7e6f-4f35-b8b3-0d4d1d1d1d1d
`, "apply", "-f", "-")
	eventually(t, 20*time.Second, "dangling dependent collected", func() bool {
		_, err := s.kubectl("get", "cm", "dangling")
		return err != nil
	})
}

// TestFinalizersKeepObjects checks that an object with a finalizer stays,
// marked for deletion, until the finalizer is removed.
func TestFinalizersKeepObjects(t *testing.T) {
	s := startServer(t)
	s.mustKubectlIn("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n", "apply", "-f", "-")
	s.mustKubectl("delete", "cm", "held", "--wait=false")
	if got := s.mustKubectl("get", "cm", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"); got == "" {
		t.Fatal("no deletionTimestamp on an object with a finalizer")
	}
	out, err := s.kubectl("patch", "cm", "held", "--type=merge", "-p", `{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}`)
	if err == nil {
		t.Fatalf("a finalizer was added while deleting:\n%s", out)
	}
	s.mustKubectl("patch", "cm", "held", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	if out, err := s.kubectl("get", "cm", "held"); err == nil {
		t.Fatalf("object survived the removal of its last finalizer:\n%s", out)
	}
}
