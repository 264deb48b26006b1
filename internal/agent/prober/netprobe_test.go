package prober

import (
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func tcpProbeSpec(port int) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
}

func TestTCPProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	open := l.Addr().(*net.TCPAddr).Port
	refused := closedPort(t)
	tests := []struct {
		name    string
		port    int
		timeout time.Duration
		wantOK  bool
		wantMsg string
	}{
		{"open", open, time.Second, true, ""},
		{"refused", refused, time.Second, false, fmt.Sprintf("Liveness probe failed: dial tcp 127.0.0.1:%d: connect: connection refused", refused)},
		{"timeout", open, time.Nanosecond, false, fmt.Sprintf("Liveness probe failed: dial tcp 127.0.0.1:%d: i/o timeout", open)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, events, err := probeOnceFor(t, Liveness, tcpProbeSpec(tt.port), nil, nil, tt.timeout)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("ok=%v err=%v, want ok=%v", ok, err, tt.wantOK)
			}
			checkEvents(t, events, tt.wantMsg, ReasonUnhealthy)
		})
	}
}

// startGRPC serves the health service (if withHealth) on 127.0.0.1.
func startGRPC(t *testing.T, withHealth bool) (int, *health.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	if withHealth {
		healthpb.RegisterHealthServer(s, hs)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().(*net.TCPAddr).Port, hs
}

func grpcProbeSpec(port int, service string) *corev1.Probe {
	a := &corev1.GRPCAction{Port: int32(port)}
	if service != "" {
		a.Service = &service
	}
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: a}}
}

func TestGRPCProbe(t *testing.T) {
	port, hs := startGRPC(t, true)
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	bare, _ := startGRPC(t, false)
	refused := closedPort(t)
	tests := []struct {
		name    string
		port    int
		service string
		timeout time.Duration
		wantOK  bool
		wantMsg string
	}{
		{"serving", port, "", time.Second, true, ""},
		{"not serving", port, "db", time.Second, false, `Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`},
		{"unknown service", port, "nope", time.Second, false, "Readiness probe failed: error: health rpc probe failed: rpc error: code = NotFound desc = unknown service"},
		{"no health service", bare, "", time.Second, false, "Readiness probe failed: error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health"},
		{"refused", refused, "", 100 * time.Millisecond, false, fmt.Sprintf(`Readiness probe failed: timeout: failed to connect service "127.0.0.1:%d" within 100ms: context deadline exceeded`, refused)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, events, err := probeOnceFor(t, Readiness, grpcProbeSpec(tt.port, tt.service), nil, nil, tt.timeout)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("ok=%v err=%v, want ok=%v", ok, err, tt.wantOK)
			}
			checkEvents(t, events, tt.wantMsg, ReasonUnhealthy)
		})
	}
}
