package agent

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestBackoffDoublesAndResets(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBackoffs()
	b.now = func() time.Time { return now }
	key := "pod/c"
	if b.remaining(key, now) != 0 {
		t.Fatal("no failure yet, no back-off")
	}
	var delays []time.Duration
	for i := 0; i < 7; i++ {
		b.next(key)
		delays = append(delays, b.delay(key))
		now = now.Add(b.delay(key))
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	finished := now
	now = now.Add(100 * time.Second)
	if left := b.remaining(key, finished); left != 200*time.Second {
		t.Fatalf("remaining %v, want 200s", left)
	}
	now = now.Add(11 * time.Minute) // running long enough: forgotten
	b.next(key)
	if b.delay(key) != 10*time.Second {
		t.Fatalf("after 10 minutes the back-off restarts at 10s, got %v", b.delay(key))
	}
}

func TestPodPhase(t *testing.T) {
	running := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	ok := corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}
	failed := corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	waiting := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	crashing := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	cases := []struct {
		name   string
		policy corev1.RestartPolicy
		init   []corev1.ContainerStatus
		cs     []corev1.ContainerStatus
		want   corev1.PodPhase
	}{
		{"creating", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{waiting}, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{running, ok}, corev1.PodRunning},
		{"crash looping", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{crashing}, corev1.PodRunning},
		{"all succeeded", corev1.RestartPolicyNever, nil, []corev1.ContainerStatus{ok, ok}, corev1.PodSucceeded},
		{"one failed, never", corev1.RestartPolicyNever, nil, []corev1.ContainerStatus{ok, failed}, corev1.PodFailed},
		{"one failed, on failure", corev1.RestartPolicyOnFailure, nil, []corev1.ContainerStatus{failed}, corev1.PodRunning},
		{"init running", corev1.RestartPolicyAlways, []corev1.ContainerStatus{running}, []corev1.ContainerStatus{waiting}, corev1.PodPending},
		{"init failed, never", corev1.RestartPolicyNever, []corev1.ContainerStatus{failed}, []corev1.ContainerStatus{waiting}, corev1.PodFailed},
		{"init failed, always", corev1.RestartPolicyAlways, []corev1.ContainerStatus{crashing}, []corev1.ContainerStatus{waiting}, corev1.PodPending},
	}
	for _, c := range cases {
		pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: c.policy}}
		s := &corev1.PodStatus{InitContainerStatuses: c.init, ContainerStatuses: c.cs}
		if got := podPhase(pod, s); got != c.want {
			t.Errorf("%s: phase %s, want %s", c.name, got, c.want)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	cases := []struct {
		policy corev1.RestartPolicy
		exit   int32
		init   bool
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, false, true},
		{corev1.RestartPolicyAlways, 0, true, false},
		{corev1.RestartPolicyAlways, 2, true, true},
		{corev1.RestartPolicyOnFailure, 0, false, false},
		{corev1.RestartPolicyOnFailure, 1, false, true},
		{corev1.RestartPolicyNever, 1, false, false},
	}
	for _, c := range cases {
		pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: c.policy}}
		if got := shouldRestart(pod, c.exit, c.init); got != c.want {
			t.Errorf("%s exit %d init %v: got %v", c.policy, c.exit, c.init, got)
		}
	}
}

func TestContainerResources(t *testing.T) {
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}}
	pod := &corev1.Pod{Status: corev1.PodStatus{QOSClass: corev1.PodQOSBurstable}}
	r := containerResources(pod, c)
	if r.CpuShares != 102 || r.CpuQuota != 25000 || r.CpuPeriod != 100000 || r.MemoryLimitInBytes != 64<<20 {
		t.Fatalf("resources %+v", r)
	}
	best := containerResources(&corev1.Pod{Status: corev1.PodStatus{QOSClass: corev1.PodQOSBestEffort}}, &corev1.Container{})
	if best.CpuShares != minShares || best.CpuQuota != 0 || best.OomScoreAdj != 1000 {
		t.Fatalf("best effort %+v", best)
	}
	if g := oomScoreAdj(&corev1.Pod{Status: corev1.PodStatus{QOSClass: corev1.PodQOSGuaranteed}}, c); g != -997 {
		t.Fatalf("guaranteed OOM score %d", g)
	}
}

func TestExpandAndCapabilities(t *testing.T) {
	got := expandAll([]string{"$(A)-$(B)", "$$(A)", "$(MISSING)", "x$(A"}, map[string]string{"A": "1", "B": "2"})
	want := []string{"1-2", "$(A)", "$(MISSING)", "x$(A"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("expand: %q, want %q", got, want)
	}
	if c := capNames([]corev1.Capability{"NET_ADMIN", "cap_sys_time", "ALL"}); strings.Join(c, ",") != "NET_ADMIN,SYS_TIME,ALL" {
		t.Fatalf("capabilities %v", c)
	}
}

func TestDNSConfig(t *testing.T) {
	a := &Agent{cfg: Config{ClusterDNS: net.ParseIP("10.43.0.10"), ClusterDomain: "cluster.local"}}
	pod := &corev1.Pod{}
	pod.Namespace = "shop"
	pod.Spec.DNSPolicy = corev1.DNSClusterFirst
	cfg, err := a.dnsConfig(pod)
	if err != nil || cfg.Servers[0] != "10.43.0.10" || cfg.Searches[0] != "shop.svc.cluster.local" || cfg.Options[0] != "ndots:5" {
		t.Fatalf("ClusterFirst: %+v %v", cfg, err)
	}
	pod.Spec.DNSPolicy = corev1.DNSNone
	one := "2"
	pod.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"1.2.3.4"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &one}}}
	cfg, _ = a.dnsConfig(pod)
	if len(cfg.Servers) != 1 || cfg.Servers[0] != "1.2.3.4" || cfg.Options[0] != "ndots:2" {
		t.Fatalf("None: %+v", cfg)
	}
}

func TestReadLogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := 0; i < 5; i++ {
		b.WriteString(base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano) + " stdout F line" + string(rune('0'+i)) + "\n")
	}
	b.WriteString(base.Add(5*time.Second).Format(time.RFC3339Nano) + " stdout P part")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	lines, off := readLogLines(f, logOptions{tail: 2, since: base.Add(time.Second)})
	if len(lines) != 2 || string(lines[0].content) != "line3" || string(lines[1].content) != "line4" {
		t.Fatalf("tail/since: %+v", lines)
	}
	if off == 0 || off >= int64(b.Len()) {
		t.Fatalf("offset %d should stop before the unfinished line", off)
	}
	if _, ok := parseLogLine([]byte("garbage")); ok {
		t.Fatal("garbage parsed as a log line")
	}
	var out strings.Builder
	_ = writeLogLine(&out, logLine{ts: base, content: []byte("x")}, true)
	if out.String() != "2026-11-25T10:00:00Z x\n" {
		t.Fatalf("timestamps: %q", out.String())
	}
}
