package cli

import (
	"errors"
	"net"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/internal/controller/nodelifecycle"
	"github.com/skiff/skiff/internal/leader"
	"github.com/skiff/skiff/internal/server"
)

// newControllerManagerCommand runs the controllers as their own process,
// for a server started with --disable-controllers.
func newControllerManagerCommand() *cobra.Command {
	var kubeconfig, logLevel, clusterCIDR, identity, debugAddr string
	var leaderElect bool
	cfg := server.ControllerManagerConfig{NodeCIDRMaskSize: 24}
	cmd := &cobra.Command{
		Use:   "controller-manager --kubeconfig FILE",
		Short: "Run the controllers alone, as an API client",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required")
			}
			if _, cfg.ClusterCIDR, err = net.ParseCIDR(clusterCIDR); err != nil {
				return err
			}
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			rc.QPS, rc.Burst, rc.UserAgent = 1000, 2000, "skiff-controller-manager"
			rc.ContentType = runtime.ContentTypeProtobuf
			rc.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
			if debugAddr != "" {
				serveDebug(cmd.Context(), debugAddr, log)
			}
			cfg.Log = log
			if leaderElect {
				cfg.Identity = identity
				if cfg.Identity == "" {
					cfg.Identity = leader.Identity(kubeconfig)
				}
			}
			return server.RunControllerManager(cmd.Context(), rc, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (the server's <data-dir>/kubeconfig.yaml)")
	f.StringVar(&clusterCIDR, "cluster-cidr", "10.42.0.0/16", "pod addresses; each node gets a /24 of it")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", nodelifecycle.DefaultGracePeriod, "how long a node may miss heartbeats before it is marked Unknown")
	f.BoolVar(&leaderElect, "leader-elect", true, "hold the kube-system/kube-controller-manager Lease while running")
	f.StringVar(&identity, "leader-elect-identity", "", "identity in the lease (default: host name and a hash of --kubeconfig)")
	f.StringVar(&debugAddr, "debug-address", "", "serve /metrics and /debug/pprof over plain HTTP on this address")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
