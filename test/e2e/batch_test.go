package e2e

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestJobs runs Jobs of real pods: completions with parallelism, a failing
// Job that reaches its backoffLimit, and an Indexed Job whose pods see
// their index.
func TestJobs(t *testing.T) {
	s := startNodeServer(t)
	c := s.client()
	s.mustKubectlIn(`apiVersion: batch/v1
kind: Job
metadata: {name: five}
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: skiff.local/busybox:1, command: ["sh", "-c", "sleep 0.5"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: skiff.local/busybox:1, command: ["sh", "-c", "exit 3"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: skiff.local/busybox:1, command: ["sh", "-c", "echo index=$JOB_COMPLETION_INDEX"]}
`, "apply", "-f", "-")

	s.mustKubectl("wait", "--for=condition=complete", "job/five", "--timeout=120s")
	assertLines(t, s.mustKubectl("get", "job", "five"), `^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$`, `^five\s+Complete\s+5/5\s+\S+\s+\S+$`)
	list, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=five"})
	if err != nil {
		t.Fatal(err)
	}
	succeeded := 0
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodSucceeded {
			succeeded++
		}
	}
	if succeeded != 5 {
		t.Fatalf("%d succeeded pods for completions 5", succeeded)
	}

	s.mustKubectl("wait", "--for=condition=failed", "job/broken", "--timeout=120s")
	contains(t, s.mustKubectl("get", "job", "broken", "-o", `jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}`), "BackoffLimitExceeded 2")

	s.mustKubectl("wait", "--for=condition=complete", "job/indexed", "--timeout=120s")
	if got := s.mustKubectl("get", "job", "indexed", "-o", "jsonpath={.status.completedIndexes}"); got != "0-2" {
		t.Fatalf("completedIndexes %q, want 0-2", got)
	}
	var seen []string
	for _, name := range strings.Fields(s.mustKubectl("get", "pods", "-l", "job-name=indexed", "-o", "jsonpath={.items[*].metadata.name}")) {
		seen = append(seen, strings.TrimSpace(s.mustKubectl("logs", name)))
	}
	sort.Strings(seen)
	if strings.Join(seen, ",") != "index=0,index=1,index=2" {
		t.Fatalf("indexed pods printed %v", seen)
	}
}

// TestCreateJobFromCronJob: kubectl create job --from=cronjob/x makes a
// Job from the CronJob's template, owned by it and marked manual.
func TestCreateJobFromCronJob(t *testing.T) {
	s := startServer(t, "--disable-controllers")
	s.mustKubectl("create", "cronjob", "nightly", "--image=skiff.local/busybox:1", "--schedule=0 3 * * *", "--", "echo", "hi")
	out := s.mustKubectl("create", "job", "manual-1", "--from=cronjob/nightly")
	contains(t, out, "job.batch/manual-1 created")
	job, err := s.client().BatchV1().Jobs("default").Get(context.Background(), "manual-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
		t.Errorf("annotations %v, want cronjob.kubernetes.io/instantiate=manual", job.Annotations)
	}
	if len(job.OwnerReferences) != 1 || job.OwnerReferences[0].Kind != "CronJob" || job.OwnerReferences[0].Name != "nightly" {
		t.Errorf("owner references %v", job.OwnerReferences)
	}
	if c := job.Spec.Template.Spec.Containers; len(c) != 1 || c[0].Image != "skiff.local/busybox:1" {
		t.Errorf("containers %v", c)
	}
}
