package endpointutil

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestFindPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Ports: []corev1.ContainerPort{
			{Name: "web", ContainerPort: 8080},
			{Name: "dns", ContainerPort: 5353, Protocol: corev1.ProtocolUDP},
		}}},
		InitContainers: []corev1.Container{
			{Ports: []corev1.ContainerPort{{Name: "init-only", ContainerPort: 1000}}},
			{RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001}}},
		},
	}}
	tests := []struct {
		name   string
		sp     corev1.ServicePort
		want   int32
		wantOK bool
	}{
		{"number", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9000)}, 9000, true},
		{"unset target is the port", corev1.ServicePort{Port: 80}, 80, true},
		{"name, default protocol", corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("web")}, 8080, true},
		{"name and protocol", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, 5353, true},
		{"name of another protocol", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("dns")}, 0, false},
		{"sidecar", corev1.ServicePort{Port: 1, TargetPort: intstr.FromString("proxy")}, 15001, true},
		{"plain init container", corev1.ServicePort{Port: 1, TargetPort: intstr.FromString("init-only")}, 0, false},
		{"missing name", corev1.ServicePort{Port: 1, TargetPort: intstr.FromString("nope")}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindPort(pod, &tt.sp)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("FindPort = %d, %t; want %d, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestInclude(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name              string
		mod               func(*corev1.Pod)
		want, terminating bool // without and with terminating pods
	}{
		{"running", func(*corev1.Pod) {}, true, true},
		{"no ip", func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil }, false, false},
		{"only podIPs", func(p *corev1.Pod) { p.Status.PodIP = "" }, true, true},
		{"succeeded", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }, false, false},
		{"failed", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }, false, false},
		{"terminating", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}}}
			tt.mod(p)
			if got := Include(p, false); got != tt.want {
				t.Errorf("Include(false) = %t", got)
			}
			if got := Include(p, true); got != tt.terminating {
				t.Errorf("Include(true) = %t", got)
			}
		})
	}
}

func TestSelectors(t *testing.T) {
	s := NewSelectors()
	svc := func(ns, name string, sel map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: sel}}
	}
	s.Set(svc("a", "web", map[string]string{"app": "web"}))
	s.Set(svc("b", "web", map[string]string{"app": "web"}))
	s.Set(svc("a", "manual", nil))
	ext := svc("a", "ext", map[string]string{"app": "web"})
	ext.Spec.Type = corev1.ServiceTypeExternalName
	s.Set(ext)
	if got := s.Matching("a", map[string]string{"app": "web", "x": "y"}); len(got) != 1 || got[0] != "a/web" {
		t.Errorf("matching in a: %v", got)
	}
	// A service that loses its selector is forgotten.
	s.Set(svc("a", "web", nil))
	if got := s.Matching("a", map[string]string{"app": "web"}); len(got) != 0 {
		t.Errorf("after selector removed: %v", got)
	}
	s.Delete("b", "web")
	if got := s.Matching("b", map[string]string{"app": "web"}); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
}

func TestTriggerTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	pod := func(name string, at time.Duration) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(at))}}}}
	}
	tr := NewTriggerTimes()
	got, commit := tr.Observe("ns/web", svc, []*corev1.Pod{pod("a", time.Minute)})
	if !got.Equal(t0) {
		t.Errorf("first sync: %v, want the service's creation", got)
	}
	// Not committed (the write failed): the next sync reports it again.
	if again, _ := tr.Observe("ns/web", svc, []*corev1.Pod{pod("a", time.Minute)}); !again.Equal(t0) {
		t.Errorf("uncommitted: %v", again)
	}
	commit()
	got, commit = tr.Observe("ns/web", svc, []*corev1.Pod{pod("a", time.Minute), pod("b", 3*time.Minute)})
	if !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("new pod: %v", got)
	}
	commit()
	got, commit = tr.Observe("ns/web", svc, []*corev1.Pod{pod("a", 5*time.Minute), pod("b", 4*time.Minute)})
	if !got.Equal(t0.Add(4 * time.Minute)) {
		t.Errorf("two changes: %v, want the earliest", got)
	}
	commit()
	if got, _ = tr.Observe("ns/web", svc, []*corev1.Pod{pod("a", 5*time.Minute)}); !got.IsZero() {
		t.Errorf("no change: %v", got)
	}
}
