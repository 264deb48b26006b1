// Package cni writes the CNI network configuration of a node: a bridge
// with host-local IPAM on the node's pod CIDR, plus portmap for hostPort.
// containerd's CRI plugin reads it and runs the plugins.
package cni

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the conflist skiff owns in the CNI conf dir.
const FileName = "10-skiff.conflist"

// Config describes the node's pod network.
type Config struct {
	// Dir is the CNI conf dir containerd reads.
	Dir string
	// Bridge names the node bridge (skiff0).
	Bridge string
	// PodCIDR is the node's share of the cluster CIDR.
	PodCIDR string
	// IPAMDir keeps host-local's allocations (per node: nodes in network
	// namespaces share a file system).
	IPAMDir string
	// IPMasq has the bridge plugin masquerade pod egress. Off when the
	// service proxy does it (only traffic leaving the cluster's pod
	// network, so pods on other nodes see each other's own addresses).
	IPMasq bool
}

// Write writes the conflist atomically, if it differs from what is there.
func Write(c Config) error {
	if c.PodCIDR == "" {
		return fmt.Errorf("cni: no pod CIDR")
	}
	conf := map[string]interface{}{
		"cniVersion": "1.0.0",
		"name":       "skiff",
		"plugins": []interface{}{
			map[string]interface{}{
				"type": "bridge", "bridge": c.Bridge, "isGateway": true, "ipMasq": c.IPMasq, "hairpinMode": true,
				"ipam": map[string]interface{}{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": c.PodCIDR}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": c.IPAMDir,
				},
			},
			map[string]interface{}{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(c.Dir, FileName)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	return os.Rename(tmp, path)
}
