package cli

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiff/skiff/internal/apiserver"
	"github.com/skiff/skiff/internal/server"
)

func newServerCommand() *cobra.Command {
	cfg := server.DefaultConfig()
	var logLevel, datastore, nodePorts, advertise string
	var af agentFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API server, store, controllers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Log = log
			cfg.Version = serverVersion()
			cfg.SkiffVersion = skiffVersion
			if err := af.complete(&cfg.Agent); err != nil {
				return err
			}
			cfg.ClusterCIDR, cfg.ServiceCIDR = cfg.Agent.ClusterCIDR, cfg.Agent.ServiceCIDR
			if cfg.NodePorts, err = apiserver.ParsePortRange(nodePorts); err != nil {
				return fmt.Errorf("--service-node-port-range: %w", err)
			}
			if advertise != "" {
				if cfg.AdvertiseAddress = net.ParseIP(advertise); cfg.AdvertiseAddress == nil {
					return fmt.Errorf("--advertise-address %q is not an IP address", advertise)
				}
			}
			if datastore != "" {
				cfg.Datastore.Endpoints = strings.Split(datastore, ",")
			}
			cfg.Ready = func(kubeconfig string) {
				fmt.Fprintf(cmd.ErrOrStderr(), "skiff is running. To use it:\n  export KUBECONFIG=%s\n  kubectl get nodes\n", kubeconfig)
			}
			return server.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the store, certificates and kubeconfig")
	f.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "address the API server listens on")
	f.IntVar(&cfg.SecurePort, "secure-port", cfg.SecurePort, "HTTPS port of the API server (0 picks a free one)")
	f.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "extra host names or IPs for the serving certificate")
	f.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "static bearer tokens, CSV: token,user,uid[,\"group1,group2\"]")
	f.StringVar(&datastore, "datastore-endpoint", "", "external etcd endpoints, comma separated (default: embedded etcd)")
	f.StringVar(&cfg.Datastore.CAFile, "datastore-cafile", "", "CA bundle for the external etcd")
	f.StringVar(&cfg.Datastore.CertFile, "datastore-certfile", "", "client certificate for the external etcd")
	f.StringVar(&cfg.Datastore.KeyFile, "datastore-keyfile", "", "client key for the external etcd")
	f.DurationVar(&cfg.CompactionRetention, "compaction-retention", cfg.CompactionRetention, "store history kept for watches to resume in")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.BoolVar(&cfg.DisableAgent, "disable-agent", false, "run no node agent (and no containerd) in the server")
	f.BoolVar(&cfg.DisableScheduler, "disable-scheduler", false, "run no scheduler in the server")
	f.BoolVar(&cfg.DisableControllers, "disable-controllers", false, "run no controllers in the server (see skiff controller-manager)")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may miss heartbeats before it is marked Unknown and its pods are evicted after their tolerations")
	f.StringVar(&nodePorts, "service-node-port-range", apiserver.DefaultNodePortRange.String(), "range of node ports for NodePort services")
	f.StringVar(&advertise, "advertise-address", "", "address nodes and pods reach this server at (default: the node IP)")
	f.IntVar(&cfg.DNSPort, "cluster-dns-port", cfg.DNSPort, "port of the cluster DNS on the advertise address (a free one if taken; -1: no DNS)")
	f.StringSliceVar(&cfg.DNSUpstreams, "cluster-dns-upstream", nil, "resolvers (host:port) for names outside the cluster domain (default: the host's resolv.conf)")
	af.register(f, &cfg.Agent)
	return cmd
}
