package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestNamespaces covers the namespace lifecycle: system namespaces exist,
// creating in a missing namespace is refused, deleting empties the
// namespace (Terminating meanwhile, refusing new content) and removes it.
func TestNamespaces(t *testing.T) {
	s := startServer(t)
	ns := s.mustKubectl("get", "namespaces", "-o", "name")
	for _, n := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		contains(t, ns, "namespace/"+n)
	}
	out, err := s.kubectl("create", "configmap", "x", "-n", "missing")
	if err == nil {
		t.Fatalf("create in a missing namespace succeeded:\n%s", out)
	}
	contains(t, out, `namespaces "missing" not found`)
	out, err = s.kubectl("delete", "namespace", "default")
	if err == nil {
		t.Fatalf("default namespace deleted:\n%s", out)
	}
	contains(t, out, `namespaces "default" is forbidden: this namespace may not be deleted`)

	s.mustKubectl("create", "namespace", "team-a")
	s.mustKubectl("apply", "-n", "team-a", "-f", "testdata/app.yaml")
	// A finalizer keeps one object, and so the namespace, around.
	s.mustKubectlIn("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n", "apply", "-n", "team-a", "-f", "-")
	s.mustKubectl("delete", "namespace", "team-a", "--wait=false")
	eventually(t, 20*time.Second, "namespace emptied but for the held object", func() bool {
		out, _ := s.kubectl("get", "deploy,svc,secret", "-n", "team-a", "-o", "name")
		return strings.TrimSpace(out) == "" || strings.Contains(out, "No resources found")
	})
	assertLines(t, s.mustKubectl("get", "ns", "team-a"), `^team-a\s+Terminating\s+`)
	out, err = s.kubectl("create", "configmap", "late", "-n", "team-a")
	if err == nil {
		t.Fatalf("create in a terminating namespace succeeded:\n%s", out)
	}
	contains(t, out, `unable to create new content in namespace team-a because it is being terminated`)
	eventually(t, 20*time.Second, "status condition naming what remains", func() bool {
		out, _ := s.kubectl("get", "ns", "team-a", "-o", "jsonpath={.status.conditions[?(@.type==\"NamespaceContentRemaining\")].message}")
		return strings.Contains(out, "configmaps has 1 instances")
	})
	s.mustKubectl("patch", "configmap", "held", "-n", "team-a", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	eventually(t, 20*time.Second, "namespace removed", func() bool {
		_, err := s.kubectl("get", "namespace", "team-a")
		return err != nil
	})
}
