package server

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/skiff/skiff/internal/controller/garbagecollector"
	"github.com/skiff/skiff/internal/controller/namespace"
	"github.com/skiff/skiff/internal/controller/nodeipam"
)

// runControllers runs the control loops as API clients until ctx ends.
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
	factory := informers.NewSharedInformerFactory(client, 0)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))

	ns := namespace.New(client, md, factory, log)
	gc := garbagecollector.New(md, client.Discovery(), mapper, log)
	ipam, err := nodeipam.New(client, factory, sc.ClusterCIDR, sc.NodeCIDRMaskSize, log)
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ns.Start(gctx, 2) })
	g.Go(func() error { return gc.Start(gctx, 4) })
	g.Go(func() error { return ipam.Start(gctx) })
	factory.Start(gctx.Done())
	defer factory.Shutdown()
	return g.Wait()
}
