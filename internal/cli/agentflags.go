package cli

import (
	"fmt"
	"net"
	"strings"

	"github.com/spf13/pflag"

	"github.com/skiff/skiff/internal/agent"
)

// agentFlags are the node flags shared by `skiff server` and `skiff agent`.
type agentFlags struct {
	nodeIP, clusterCIDR, serviceCIDR, clusterDNS string
	insecureRegistries, labels                   []string
}

func (f *agentFlags) register(fs *pflag.FlagSet, cfg *agent.Config) {
	fs.StringVar(&cfg.NodeName, "node-name", agent.DefaultNodeName(), "name of this node")
	fs.StringVar(&f.nodeIP, "node-ip", "", "IP address of this node (default: the address of the default route's interface)")
	fs.IntVar(&cfg.Port, "agent-port", cfg.Port, "HTTPS port of the node agent (logs); 0 picks a free one")
	fs.StringVar(&cfg.ContainerRuntimeEndpoint, "container-runtime-endpoint", "", "existing CRI socket (unix:///...); default: run containerd under the data dir")
	fs.StringVar(&cfg.CgroupParent, "cgroup-parent", cfg.CgroupParent, "cgroup under which pods run (cgroupfs)")
	fs.StringVar(&cfg.CNIBinDir, "cni-bin-dir", cfg.CNIBinDir, "directory of the CNI plugins")
	fs.StringVar(&cfg.CNIBridge, "cni-bridge", cfg.CNIBridge, "name of the node's pod bridge")
	fs.StringVar(&cfg.CNIConfDir, "cni-conf-dir", "", "where to write the pod network's CNI config (default: <data-dir>/agent/cni, read by the agent's own containerd)")
	fs.StringVar(&f.clusterDNS, "cluster-dns", cfg.ClusterDNS.String(), "IP of the cluster DNS service, for pods' resolv.conf")
	fs.StringVar(&cfg.ClusterDomain, "cluster-domain", cfg.ClusterDomain, "cluster domain")
	fs.StringVar(&f.clusterCIDR, "cluster-cidr", "10.42.0.0/16", "CIDR of pod IPs in the whole cluster")
	fs.StringVar(&f.serviceCIDR, "service-cidr", "10.43.0.0/16", "CIDR of service cluster IPs")
	fs.StringSliceVar(&f.insecureRegistries, "insecure-registry", nil, "registry host:port to pull from over plain HTTP")
	fs.StringSliceVar(&f.labels, "node-label", nil, "label key=value to add to the node")
	fs.BoolVar(&cfg.DisableProxy, "disable-proxy", false, "run no service proxy (nftables) on the node")
	fs.StringVar(&cfg.ProxyTable, "proxy-table", "skiff", "nftables table (family ip) the service proxy owns")
}

// complete parses the string flags into cfg.
func (f *agentFlags) complete(cfg *agent.Config) error {
	if f.nodeIP != "" {
		if cfg.NodeIP = net.ParseIP(f.nodeIP); cfg.NodeIP == nil {
			return fmt.Errorf("--node-ip %q is not an IP address", f.nodeIP)
		}
	} else {
		ip, err := agent.DefaultNodeIP()
		if err != nil {
			return err
		}
		cfg.NodeIP = ip
	}
	if cfg.ClusterDNS = net.ParseIP(f.clusterDNS); cfg.ClusterDNS == nil {
		return fmt.Errorf("--cluster-dns %q is not an IP address", f.clusterDNS)
	}
	var err error
	if _, cfg.ClusterCIDR, err = net.ParseCIDR(f.clusterCIDR); err != nil {
		return fmt.Errorf("--cluster-cidr: %w", err)
	}
	if _, cfg.ServiceCIDR, err = net.ParseCIDR(f.serviceCIDR); err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	cfg.InsecureRegistries = f.insecureRegistries
	cfg.Labels, err = parseLabels(f.labels)
	return err
}

// parseLabels reads --node-label values; nil when there are none.
func parseLabels(list []string) (map[string]string, error) {
	var labels map[string]string
	for _, l := range list {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--node-label %q: want key=value", l)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	return labels, nil
}
