package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// tcpProbe succeeds if a TCP connection to host:port opens within timeout.
func tcpProbe(ctx context.Context, host string, port int, timeout time.Duration) (result, string, error) {
	d := &net.Dialer{Timeout: timeout}
	conn, err := dialContext(ctx, d, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		// Refusals and timeouts are failures, not errors.
		return resultFailure, err.Error(), nil
	}
	_ = conn.Close()
	return resultSuccess, "", nil
}

// grpcProbe calls grpc.health.v1.Health/Check for service on host:port; it
// succeeds if the service is SERVING. Connecting and the call share timeout.
func grpcProbe(ctx context.Context, host, service string, port int, timeout time.Duration) (result, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	opts := []grpc.DialOption{
		grpc.WithUserAgent("kube-probe/" + kubeVersion),
		grpc.WithBlock(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialContext(ctx, &net.Dialer{}, addr)
		}),
	}
	conn, err := grpc.DialContext(ctx, addr, opts...) //nolint:staticcheck // a blocking dial gives kubelet's connect-timeout message
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return resultFailure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return resultFailure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	defer func() { _ = conn.Close() }()
	client := healthpb.NewHealthClient(conn)
	resp, err := client.Check(metadata.NewOutgoingContext(ctx, metadata.MD{}), &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return resultFailure, grpcCheckError(err, timeout), nil
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return resultFailure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return resultSuccess, "service is serving", nil
}

// grpcCheckError words a failed health call as kubelet does.
func grpcCheckError(err error, timeout time.Duration) string {
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unimplemented:
			return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + st.Message()
		case codes.DeadlineExceeded:
			return fmt.Sprintf("timeout: health rpc did not complete within %v", timeout)
		}
	}
	return fmt.Sprintf("error: health rpc probe failed: %+v", err)
}
