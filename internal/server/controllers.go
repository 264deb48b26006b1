package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/skiff/skiff/internal/controller/cronjob"
	"github.com/skiff/skiff/internal/controller/daemonset"
	"github.com/skiff/skiff/internal/controller/deployment"
	"github.com/skiff/skiff/internal/controller/endpoint"
	"github.com/skiff/skiff/internal/controller/endpointslice"
	"github.com/skiff/skiff/internal/controller/garbagecollector"
	"github.com/skiff/skiff/internal/controller/job"
	"github.com/skiff/skiff/internal/controller/namespace"
	"github.com/skiff/skiff/internal/controller/nodeipam"
	"github.com/skiff/skiff/internal/controller/nodelifecycle"
	"github.com/skiff/skiff/internal/controller/replicaset"
	"github.com/skiff/skiff/internal/controller/serviceaccount"
	"github.com/skiff/skiff/internal/controller/statefulset"
	"github.com/skiff/skiff/internal/controller/volume/localpath"
	"github.com/skiff/skiff/internal/controller/volume/persistentvolume"
	"github.com/skiff/skiff/internal/leader"
	"github.com/skiff/skiff/internal/scheduler"
)

// runControlPlane runs the controllers and the scheduler as API clients
// until ctx ends, each while it holds its lease (kube-controller-manager
// and kube-scheduler in kube-system), so that several servers sharing an
// etcd cluster run one of each.
func runControlPlane(ctx context.Context, cfg *rest.Config, sc Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	id := leader.Identity(sc.DataDir)
	g, gctx := errgroup.WithContext(ctx)
	if !sc.DisableControllers {
		g.Go(func() error {
			return leader.Run(gctx, client, "kube-controller-manager", id, sc.Log, func(ctx context.Context) error {
				return runControllers(ctx, cfg, sc)
			})
		})
	}
	if !sc.DisableScheduler {
		g.Go(func() error {
			return leader.Run(gctx, client, "kube-scheduler", id, sc.Log, func(ctx context.Context) error {
				sched, err := scheduler.New(scheduler.Config{Client: client, Log: sc.Log})
				if err != nil {
					return err
				}
				return sched.Run(ctx)
			})
		})
	}
	return g.Wait()
}

// ControllerManagerConfig configures the controllers run apart from the
// server (`skiff controller-manager`).
type ControllerManagerConfig struct {
	ClusterCIDR            *net.IPNet
	NodeCIDRMaskSize       int
	NodeMonitorGracePeriod time.Duration
	// Identity is the holder identity in the kube-controller-manager lease;
	// empty runs without leader election.
	Identity string
	Log      *slog.Logger
}

// RunControllerManager runs the controllers against the API server cfg
// points at until ctx ends, holding the kube-system/kube-controller-manager
// lease while they run (unless Identity is empty).
func RunControllerManager(ctx context.Context, cfg *rest.Config, c ControllerManagerConfig) error {
	sc := Config{ClusterCIDR: c.ClusterCIDR, NodeCIDRMaskSize: c.NodeCIDRMaskSize, NodeMonitorGracePeriod: c.NodeMonitorGracePeriod, Log: c.Log}
	if c.Identity == "" {
		return runControllers(ctx, cfg, sc)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	return leader.Run(ctx, client, "kube-controller-manager", c.Identity, c.Log, func(ctx context.Context) error {
		return runControllers(ctx, cfg, sc)
	})
}

// runControllers runs the control loops until ctx ends.
func runControllers(ctx context.Context, cfg *rest.Config, sc Config) error {
	log := sc.Log
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	// Cached objects without managedFields: half the memory, and nothing
	// here reads them (updates without them keep the stored ones).
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(scheduler.StripManagedFields))
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))

	ns := namespace.New(client, md, factory, log)
	gc := garbagecollector.New(md, client.Discovery(), mapper, log)
	ipam, err := nodeipam.New(client, factory, sc.ClusterCIDR, sc.NodeCIDRMaskSize, log)
	if err != nil {
		return err
	}

	sa := serviceaccount.New(client, factory, cfg.CAData, log)
	rs := replicaset.New(client, factory, log)
	rc := replicaset.NewReplicationManager(client, factory, log)
	deploy := deployment.New(client, factory, log)
	cron := cronjob.New(client, factory, log)
	ds := daemonset.New(client, factory, log)
	jobs := job.New(client, factory, log)
	eps := endpoint.New(client, factory, log)
	sts := statefulset.New(client, factory, log)
	pvs := persistentvolume.New(client, factory, log, localpath.New())
	if err := localpath.EnsureDefaultStorageClass(ctx, client); err != nil {
		log.Warn("default storage class", "err", err)
	}
	slices := endpointslice.New(client, factory, log)
	lifecycle := nodelifecycle.New(nodelifecycle.Config{Client: client, Factory: factory, GracePeriod: sc.NodeMonitorGracePeriod, Log: log})

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return lifecycle.Start(gctx) })
	g.Go(func() error { return sa.Start(gctx, 2) })
	g.Go(func() error { return rs.Start(gctx, 5) })
	g.Go(func() error { return rc.Start(gctx, 5) })
	g.Go(func() error { return deploy.Start(gctx, 5) })
	g.Go(func() error { return cron.Start(gctx, 2) })
	g.Go(func() error { return ds.Start(gctx, 2) })
	g.Go(func() error { return jobs.Start(gctx, 5) })
	g.Go(func() error { return eps.Start(gctx, 5) })
	g.Go(func() error { return sts.Start(gctx, 5) })
	g.Go(func() error { return pvs.Start(gctx, 2) })
	g.Go(func() error { return slices.Start(gctx, 5) })
	g.Go(func() error { return ns.Start(gctx, 2) })
	g.Go(func() error { return gc.Start(gctx, 4) })
	g.Go(func() error { return ipam.Start(gctx) })
	factory.Start(gctx.Done())
	defer factory.Shutdown()
	return g.Wait()
}
