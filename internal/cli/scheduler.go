package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/internal/leader"
	"github.com/skiff/skiff/internal/scheduler"
)

// newSchedulerCommand runs the scheduler as its own process against any
// API server, for a server started with --disable-scheduler or for
// several schedulers sharing one lease.
func newSchedulerCommand() *cobra.Command {
	var kubeconfig, logLevel, name, identity, debugAddr string
	var leaderElect bool
	cmd := &cobra.Command{
		Use:   "scheduler --kubeconfig FILE",
		Short: "Run the scheduler alone, as an API client",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required")
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			cfg.QPS, cfg.Burst = 1000, 2000
			cfg.UserAgent = "skiff-scheduler"
			cfg.ContentType = runtime.ContentTypeProtobuf
			cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			if debugAddr != "" {
				serveDebug(cmd.Context(), debugAddr, log)
			}
			run := func(ctx context.Context) error {
				s, err := scheduler.New(scheduler.Config{Client: client, SchedulerName: name, Log: log})
				if err != nil {
					return err
				}
				return s.Run(ctx)
			}
			if !leaderElect {
				return run(cmd.Context())
			}
			if identity == "" {
				identity = leader.Identity(kubeconfig)
			}
			return leader.Run(cmd.Context(), client, "kube-scheduler", identity, log, run)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (the server's <data-dir>/kubeconfig.yaml)")
	f.StringVar(&name, "scheduler-name", scheduler.DefaultSchedulerName, "schedulerName of the pods to place")
	f.BoolVar(&leaderElect, "leader-elect", true, "hold the kube-system/kube-scheduler Lease while scheduling")
	f.StringVar(&identity, "leader-elect-identity", "", "identity in the lease (default: host name and a hash of --kubeconfig)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&debugAddr, "debug-address", "", "serve /metrics and /debug/pprof over plain HTTP on this address (e.g. 127.0.0.1:10251)")
	return cmd
}

// serveDebug serves Prometheus metrics and pprof until ctx ends.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
}
