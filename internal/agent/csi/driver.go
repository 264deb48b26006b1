// Package csi is the node agent's door to CSI drivers, as the kubelet's
// plugin watcher and CSI volume plugin are for Kubernetes.
//
// A Watcher looks for registration sockets in a directory
// (<agent data dir>/plugins_registry): a driver, or a node-driver-registrar
// beside it, serves the kubelet's pluginregistration v1 Registration
// service there. For each socket the watcher asks GetInfo (type CSIPlugin,
// the driver's name, its CSI endpoint, its CSI versions), checks the
// answer, connects to the endpoint, asks NodeGetInfo and
// NodeGetCapabilities, records the driver in its Registry and in the
// Node's csi.volume.kubernetes.io/nodeid annotation (topology segments
// become Node labels), and tells the plugin with NotifyRegistrationStatus.
// A socket that disappears, or that no process listens on any more,
// unregisters its driver.
//
// The Registry is what the volume manager asks for a driver by name; it
// calls the driver's Node service itself (see internal/agent/volume).
package csi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Driver is a CSI driver registered on this node.
type Driver struct {
	// Name is the driver's name (the CSI driver registrar name), as PVs'
	// spec.csi.driver spell it.
	Name string
	// Endpoint is the path of the driver's CSI socket.
	Endpoint string
	// Version is the CSI version spoken with it, e.g. "1.0.0".
	Version string
	// NodeID is this node's ID for the driver (NodeGetInfo).
	NodeID string
	// MaxVolumes is the most volumes the driver publishes on the node; 0
	// for no limit.
	MaxVolumes int64
	// Topology is the node's accessible topology for the driver.
	Topology map[string]string
	// Capabilities are the driver's Node service capabilities.
	Capabilities []csipb.NodeServiceCapability_RPC_Type

	socket string // registration socket, empty when added directly
	conn   *grpc.ClientConn
	node   csipb.NodeClient
}

// Node returns the client of the driver's Node service.
func (d *Driver) Node() csipb.NodeClient { return d.node }

// Has reports whether the driver has a Node service capability.
func (d *Driver) Has(c csipb.NodeServiceCapability_RPC_Type) bool {
	return slices.Contains(d.Capabilities, c)
}

// StageUnstage reports whether volumes must be staged on the node
// (NodeStageVolume) before they are published to pods.
func (d *Driver) StageUnstage() bool {
	return d.Has(csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME)
}

// Close closes the connection to the driver.
func (d *Driver) Close() error {
	if d.conn == nil {
		return nil
	}
	return d.conn.Close()
}

// Connect dials a driver's CSI endpoint (a socket path, or unix://path)
// and asks for its node ID, topology and capabilities. The connection
// stays open until Close.
func Connect(ctx context.Context, name, endpoint string) (*Driver, error) {
	path := strings.TrimPrefix(endpoint, "unix://")
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("csi: driver %s: endpoint %q is not an absolute unix socket path", name, endpoint)
	}
	conn, err := dialUnix(path)
	if err != nil {
		return nil, fmt.Errorf("csi: driver %s: %w", name, err)
	}
	d := &Driver{Name: name, Endpoint: path, conn: conn, node: csipb.NewNodeClient(conn)}
	if err := d.probe(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("csi: driver %s at %s: %w", name, path, err)
	}
	return d, nil
}

// probe asks the driver for its node info and capabilities.
func (d *Driver) probe(ctx context.Context) error {
	info, err := d.node.NodeGetInfo(ctx, &csipb.NodeGetInfoRequest{})
	if err != nil {
		return fmt.Errorf("NodeGetInfo: %w", err)
	}
	if info.GetNodeId() == "" {
		return fmt.Errorf("NodeGetInfo: the driver returned an empty node ID")
	}
	d.NodeID, d.MaxVolumes = info.GetNodeId(), info.GetMaxVolumesPerNode()
	if t := info.GetAccessibleTopology(); t != nil {
		d.Topology = t.GetSegments()
	}
	caps, err := d.node.NodeGetCapabilities(ctx, &csipb.NodeGetCapabilitiesRequest{})
	if err != nil {
		return fmt.Errorf("NodeGetCapabilities: %w", err)
	}
	for _, c := range caps.GetCapabilities() {
		if rpc := c.GetRpc(); rpc != nil {
			d.Capabilities = append(d.Capabilities, rpc.GetType())
		}
	}
	return nil
}

// dialUnix returns a gRPC client of the socket at path; it connects on
// first use.
func dialUnix(path string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", path, err)
	}
	return conn, nil
}
