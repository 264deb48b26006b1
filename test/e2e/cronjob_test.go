package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestCronJobForbidAndRestart: a CronJob every minute with Forbid starts
// one Job; while it runs the next time is skipped; a server restart makes
// no second Job for a time already run.
func TestCronJobForbidAndRestart(t *testing.T) {
	s := startServer(t)
	startSimulator(t, s, "--simulate", "1", "--simulate-prefix", "cron")
	s.mustKubectlIn(`apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: c, image: skiff.local/busybox:1}
`, "apply", "-f", "-")
	jobs := func() []string {
		out, _ := s.kubectl("get", "jobs", "-o", "jsonpath={.items[*].metadata.name}")
		return strings.Fields(out)
	}
	eventually(t, 75*time.Second, "the first Job", func() bool { return len(jobs()) == 1 })
	first := jobs()[0]
	contains(t, s.mustKubectl("get", "cronjob", "tick", "-o", "jsonpath={.status.active[0].name}"), first)
	s.restart()
	eventually(t, 75*time.Second, "the next schedule time skipped (Forbid)", func() bool {
		out, _ := s.kubectl("get", "events", "--field-selector", "reason=JobAlreadyActive", "-o", "name")
		return strings.TrimSpace(out) != ""
	})
	if got := jobs(); len(got) != 1 || got[0] != first {
		t.Fatalf("jobs %v, want only %s", got, first)
	}
}
