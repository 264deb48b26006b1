package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestSchedulerPlacesPodOnRealNode: a pod without spec.nodeName is placed
// by the scheduler on the server's own node, bound through pods/binding,
// and runs there; kubectl shows the Scheduled event from
// default-scheduler.
func TestSchedulerPlacesPodOnRealNode(t *testing.T) {
	s := startNodeServer(t)
	s.mustKubectlIn(`apiVersion: v1
kind: Pod
metadata:
  name: unplaced
spec:
  containers:
  - name: main
    image: skiff.local/busybox:1
    command: ["sleep", "3600"]
    resources:
      requests: {cpu: 100m, memory: 16Mi}
`, "apply", "-f", "-")
	p := waitPod(t, s.client(), "unplaced", 60*time.Second, "Running", running)
	if p.Spec.NodeName != nodeName {
		t.Fatalf("spec.nodeName = %q, want %q", p.Spec.NodeName, nodeName)
	}
	var scheduled bool
	for _, c := range p.Status.Conditions {
		if c.Type == "PodScheduled" && c.Status == "True" {
			scheduled = true
		}
	}
	if !scheduled {
		t.Fatalf("no PodScheduled=True condition: %+v", p.Status.Conditions)
	}
	var out string
	eventually(t, 20*time.Second, "Scheduled event", func() bool {
		out, _ = s.kubectl("get", "events", "--field-selector", "involvedObject.name=unplaced,reason=Scheduled", "-o", "custom-columns=SRC:.source.component,MSG:.message", "--no-headers")
		return strings.Contains(out, "Successfully assigned default/unplaced to "+nodeName)
	})
	contains(t, out, "default-scheduler")
}
