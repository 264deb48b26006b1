package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxMsgSize is the largest CRI message, as kubelet allows (16 MiB).
const maxMsgSize = 16 << 20

// Runtime is a CRI connection: the runtime and image services of one
// endpoint.
type Runtime struct {
	Runtime  criv1.RuntimeServiceClient
	Images   criv1.ImageServiceClient
	conn     *grpc.ClientConn
	Endpoint string
}

// Dial connects to a CRI endpoint, "unix:///path/to.sock" or a bare socket
// path. It does not wait for the endpoint to answer: the connection is made
// (and remade, after the runtime restarts) as calls need it.
func Dial(ctx context.Context, endpoint string) (*Runtime, error) {
	_ = ctx // kept for a blocking dial later; grpc.NewClient connects lazily
	target, err := socketTarget(endpoint)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
		// Reconnect quickly after containerd restarts (grpc's default
		// back-off grows to two minutes).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial CRI %s: %w", endpoint, err)
	}
	return &Runtime{
		Runtime:  criv1.NewRuntimeServiceClient(conn),
		Images:   criv1.NewImageServiceClient(conn),
		conn:     conn,
		Endpoint: endpoint,
	}, nil
}

// socketTarget turns an endpoint into a grpc target.
func socketTarget(endpoint string) (string, error) {
	switch {
	case endpoint == "":
		return "", errors.New("empty CRI endpoint")
	case strings.HasPrefix(endpoint, "unix://"):
		return endpoint, nil
	case strings.HasPrefix(endpoint, "/"):
		return "unix://" + endpoint, nil
	default:
		return "", fmt.Errorf("CRI endpoint %q: only unix sockets are supported", endpoint)
	}
}

// SocketPath returns the socket path of a unix endpoint ("unix:///x" or
// "/x"), which is also containerd's address.
func SocketPath(endpoint string) (string, error) {
	target, err := socketTarget(endpoint)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(target, "unix://"), nil
}

// Close closes the connection.
func (r *Runtime) Close() error {
	if err := r.conn.Close(); err != nil {
		return fmt.Errorf("close CRI connection: %w", err)
	}
	return nil
}

// Version asks the runtime for its name and versions.
func (r *Runtime) Version(ctx context.Context) (*criv1.VersionResponse, error) {
	v, err := r.Runtime.Version(ctx, &criv1.VersionRequest{Version: "v1"})
	if err != nil {
		return nil, fmt.Errorf("CRI version: %w", err)
	}
	return v, nil
}
