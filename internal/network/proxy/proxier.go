package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Proxier load-balances this node's traffic to Services, as kube-proxy's
// nftables mode does, from Services and EndpointSlices it watches.
type Proxier struct {
	cfg    Config
	syncer *Syncer
	log    *slog.Logger

	mu      sync.Mutex
	dirty   map[types.NamespacedName]struct{}
	metrics SyncMetrics
	kick    chan struct{}
	running bool
}

// SyncMetrics counts a Proxier's syncs.
type SyncMetrics struct {
	// Syncs and FullSyncs count successful syncs; Failures failed ones.
	Syncs, FullSyncs, Failures uint64
	// Last is the last successful sync.
	Last SyncStats
	// MaxDuration is the longest successful sync.
	MaxDuration time.Duration
	// LastError is the last failure, if the last sync failed.
	LastError error
}

// New returns a Proxier; it programs nothing until Run.
func New(cfg Config) (*Proxier, error) {
	cfg = cfg.withDefaults()
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: no client", ErrConfig)
	}
	cfg.Log = cfg.Log.With("component", "proxy")
	s, err := NewSyncer(cfg)
	if err != nil {
		return nil, err
	}
	return &Proxier{
		cfg:    cfg,
		syncer: s,
		log:    cfg.Log,
		dirty:  map[types.NamespacedName]struct{}{},
		kick:   make(chan struct{}, 1),
	}, nil
}

// Metrics returns the sync counters.
func (p *Proxier) Metrics() SyncMetrics {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.metrics
}

// byService indexes EndpointSlices by "namespace/service-name".
const byService = "service"

// Run watches Services and EndpointSlices until ctx ends. Once the caches
// are filled it replaces the table with one for every Service; afterwards
// each batch of changes (at most one per MinSyncPeriod) rewrites the
// changed Services only. When ctx ends it deletes the table and returns
// nil. Run may be called once.
func (p *Proxier) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return fmt.Errorf("%w: Run called twice", ErrConfig)
	}
	p.running = true
	p.mu.Unlock()

	factory := informers.NewSharedInformerFactoryWithOptions(p.cfg.Client, 0, informers.WithTransform(slimForCache))
	svcs := factory.Core().V1().Services()
	slicesInf := factory.Discovery().V1().EndpointSlices().Informer()
	if err := slicesInf.AddIndexers(cache.Indexers{byService: sliceServiceIndex}); err != nil {
		return fmt.Errorf("proxy: index endpoint slices: %w", err)
	}
	if _, err := svcs.Informer().AddEventHandler(p.handler(serviceOf)); err != nil {
		return fmt.Errorf("proxy: watch services: %w", err)
	}
	if _, err := slicesInf.AddEventHandler(p.handler(sliceServiceOf)); err != nil {
		return fmt.Errorf("proxy: watch endpoint slices: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	defer p.shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), svcs.Informer().HasSynced, slicesInf.HasSynced) {
		return nil
	}
	src := source{services: svcs.Lister(), slices: slicesInf.GetIndexer()}
	if err := p.markAll(src); err != nil {
		return err
	}
	p.loop(ctx, src)
	return nil
}

// shutdown deletes the table.
func (p *Proxier) shutdown() {
	if err := p.syncer.Close(); err != nil {
		p.log.Error("delete nftables table", "table", p.cfg.Table, "err", err)
		return
	}
	p.log.Info("deleted nftables table", "table", p.cfg.Table)
}

// loop syncs whenever something changed, at most once per MinSyncPeriod,
// backing off after failures.
func (p *Proxier) loop(ctx context.Context, src source) {
	var last time.Time
	failures := 0
	for {
		if !p.syncer.Pending() && !p.hasDirty() {
			select {
			case <-ctx.Done():
				return
			case <-p.kick:
			}
		}
		wait := p.cfg.MinSyncPeriod
		if failures > 0 {
			wait = min(time.Second<<min(failures-1, 5), 30*time.Second)
		}
		if d := wait - time.Since(last); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		if err := p.sync(src); err != nil {
			failures++
			continue
		}
		failures = 0
	}
}

// sync stages the Services marked dirty from the caches and applies them.
func (p *Proxier) sync(src source) error {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = make(map[types.NamespacedName]struct{}, len(dirty))
	p.mu.Unlock()
	for name := range dirty {
		if err := p.stage(src, name); err != nil {
			p.log.Error("read service from cache", "service", name.String(), "err", err)
		}
	}
	st, err := p.syncer.Sync()
	p.record(st, err)
	return err
}

func (p *Proxier) stage(src source, name types.NamespacedName) error {
	svc, err := src.services.Services(name.Namespace).Get(name.Name)
	if apierrors.IsNotFound(err) {
		p.syncer.DeleteService(name.Namespace, name.Name)
		return nil
	}
	if err != nil {
		return err
	}
	objs, err := src.slices.ByIndex(byService, name.String())
	if err != nil {
		return err
	}
	eps := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if sl, ok := o.(*discoveryv1.EndpointSlice); ok {
			eps = append(eps, sl)
		}
	}
	p.syncer.SetService(svc, eps)
	return nil
}

func (p *Proxier) record(st SyncStats, err error) {
	p.mu.Lock()
	if err != nil {
		p.metrics.Failures++
		p.metrics.LastError = err
	} else if st.Messages > 0 || st.Full {
		p.metrics.Syncs++
		if st.Full {
			p.metrics.FullSyncs++
		}
		p.metrics.Last = st
		p.metrics.MaxDuration = max(p.metrics.MaxDuration, st.Duration)
		p.metrics.LastError = nil
	}
	p.mu.Unlock()
	attrs := []any{"full", st.Full, "services", st.Services, "messages", st.Messages, "bytes", st.Bytes, "duration", st.Duration}
	switch {
	case err != nil:
		p.log.Error("sync nftables", append(attrs, "err", err)...)
	case st.Full:
		p.log.Info("synced nftables", attrs...)
	case st.Messages > 0:
		p.log.Debug("synced nftables", attrs...)
	}
}

// source reads the informers' caches.
type source struct {
	services corelisters.ServiceLister
	slices   cache.Indexer
}

// markAll marks every cached Service dirty, for the first sync.
func (p *Proxier) markAll(src source) error {
	all, err := src.services.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("proxy: list services: %w", err)
	}
	p.mu.Lock()
	for _, svc := range all {
		p.dirty[types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}] = struct{}{}
	}
	p.mu.Unlock()
	return nil
}

func (p *Proxier) hasDirty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dirty) > 0
}

func (p *Proxier) mark(name types.NamespacedName) {
	if name.Name == "" {
		return
	}
	p.mu.Lock()
	p.dirty[name] = struct{}{}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// handler marks the Service an object belongs to (both, if an update
// moved it) dirty.
func (p *Proxier) handler(owner func(obj any) types.NamespacedName) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { p.mark(owner(obj)) },
		UpdateFunc: func(old, obj any) {
			a, b := owner(old), owner(obj)
			p.mark(b)
			if a != b {
				p.mark(a)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			p.mark(owner(obj))
		},
	}
}

func serviceOf(obj any) types.NamespacedName {
	if svc, ok := obj.(*v1.Service); ok {
		return types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	}
	return types.NamespacedName{}
}

func sliceServiceOf(obj any) types.NamespacedName {
	if sl, ok := obj.(*discoveryv1.EndpointSlice); ok {
		return types.NamespacedName{Namespace: sl.Namespace, Name: sl.Labels[discoveryv1.LabelServiceName]}
	}
	return types.NamespacedName{}
}

func sliceServiceIndex(obj any) ([]string, error) {
	name := sliceServiceOf(obj)
	if name.Name == "" {
		return nil, nil
	}
	return []string{name.String()}, nil
}

// slimForCache drops what the proxy never reads from cached objects.
func slimForCache(obj any) (any, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil //nolint:nilerr // not an object (a tombstone): keep as is
	}
	a.SetManagedFields(nil)
	if ann := a.GetAnnotations(); ann[v1.LastAppliedConfigAnnotation] != "" {
		slim := make(map[string]string, len(ann)-1)
		for k, v := range ann {
			if k != v1.LastAppliedConfigAnnotation {
				slim[k] = v
			}
		}
		a.SetAnnotations(slim)
	}
	return obj, nil
}
