// Package simulate runs hollow nodes: many Node objects that behave to the
// API as the real agent's do (registration, lease, status, pods Running,
// deletion finished) with no containers behind them. Scheduler scale tests
// run against them. One informer per resource and small worker pools serve
// every simulated node, so a thousand nodes cost little CPU.
package simulate

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// MaxNodes is the most nodes one simulator runs: every node gets its own
// fake node address and fallback pod range.
const MaxNodes = 16384

// Config is what a simulator is told.
type Config struct {
	// Count is the number of nodes, named <NamePrefix>-0 .. <NamePrefix>-(Count-1).
	Count      int
	NamePrefix string
	// Zones > 0 labels node i topology.kubernetes.io/zone=zone-<i mod Zones>.
	Zones int
	// Capacity of every node; allocatable is the same.
	CPU, Memory, EphemeralStorage resource.Quantity
	Pods                          int
	// Labels and Taints are added to every node.
	Labels map[string]string
	Taints []corev1.Taint
	// Version is reported as the nodes' kubelet version ("skiff vX").
	Version string
	// Cleanup deletes the Node objects when the simulator stops; otherwise
	// they stay and go NotReady when their leases expire.
	Cleanup bool
	// LeaseRenew is how often each node renews its Lease; renewals of all
	// nodes are spread over this period. StatusReport is how often an
	// unchanged node status is written again.
	LeaseRenew   time.Duration
	StatusReport time.Duration
	// Workers for node status, leases and pod status.
	NodeWorkers, LeaseWorkers, PodWorkers int
	Log                                   *slog.Logger
}

// DefaultConfig returns a large node's capacity and the kubelet's timings;
// Count is left to the caller.
func DefaultConfig() Config {
	return Config{
		NamePrefix: "skiff-sim",
		CPU:        resource.MustParse("32"), Memory: resource.MustParse("256Gi"),
		EphemeralStorage: resource.MustParse("100Gi"), Pods: 110,
		Version:    "skiff",
		LeaseRenew: 10 * time.Second, StatusReport: 5 * time.Minute,
		NodeWorkers: 4, LeaseWorkers: 4, PodWorkers: 16,
		Log: slog.Default(),
	}
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Count < 1 || c.Count > MaxNodes:
		return fmt.Errorf("%w: node count %d is not in 1..%d", ErrConfig, c.Count, MaxNodes)
	case c.Zones < 0:
		return fmt.Errorf("%w: negative zone count", ErrConfig)
	case c.Pods < 1:
		return fmt.Errorf("%w: pods per node must be positive", ErrConfig)
	case c.CPU.Sign() <= 0 || c.Memory.Sign() <= 0 || c.EphemeralStorage.Sign() <= 0:
		return fmt.Errorf("%w: cpu, memory and ephemeral storage must be positive", ErrConfig)
	case c.LeaseRenew <= 0 || c.StatusReport <= 0:
		return fmt.Errorf("%w: lease and status periods must be positive", ErrConfig)
	case c.NodeWorkers < 1 || c.LeaseWorkers < 1 || c.PodWorkers < 1:
		return fmt.Errorf("%w: worker counts must be positive", ErrConfig)
	}
	if errs := validation.IsDNS1123Subdomain(nodeName(c.NamePrefix, c.Count-1)); len(errs) > 0 {
		return fmt.Errorf("%w: node name prefix %q: %s", ErrConfig, c.NamePrefix, errs[0])
	}
	for _, t := range c.Taints {
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return fmt.Errorf("%w: taint %s has effect %q", ErrConfig, t.Key, t.Effect)
		}
	}
	return nil
}

func nodeName(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) }

// Deps are the simulator's connections, made by the caller.
type Deps struct {
	// Client reaches the API server; give it a high QPS (hundreds).
	Client kubernetes.Interface
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Simulator runs the nodes.
type Simulator struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger
	now    func() time.Time

	nodes    []*simNode
	byName   map[string]*simNode
	capacity corev1.ResourceList

	nodeInf, podInf cache.SharedIndexInformer
	nodeQ, leaseQ   *queue[string]
	podQ            *queue[cache.ObjectName]

	registered atomic.Int32
}

// New checks the configuration and builds a simulator. Start runs it.
func New(cfg Config, deps Deps) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Client == nil {
		return nil, fmt.Errorf("%w: no API client", ErrConfig)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Simulator{cfg: cfg, client: deps.Client, now: deps.Now, byName: make(map[string]*simNode, cfg.Count),
		log: cfg.Log.With("component", "simulate", "prefix", cfg.NamePrefix)}
	s.capacity = s.nodeCapacity()
	for i := range cfg.Count {
		n := newSimNode(i, nodeName(cfg.NamePrefix, i))
		s.nodes = append(s.nodes, n)
		s.byName[n.name] = n
	}
	s.nodeInf, s.podInf = newNodeInformer(deps.Client), newPodInformer(deps.Client)
	s.nodeQ = newQueue("simulate-nodes", time.Second, time.Minute, s.syncNode)
	s.leaseQ = newQueue("simulate-leases", 200*time.Millisecond, 7*time.Second, s.renewLease)
	s.podQ = newQueue("simulate-pods", 100*time.Millisecond, 30*time.Second, s.syncPod)
	return s, nil
}

// Run builds a simulator and runs it until ctx ends.
func Run(ctx context.Context, client kubernetes.Interface, cfg Config) error {
	s, err := New(cfg, Deps{Client: client})
	if err != nil {
		return err
	}
	return s.Start(ctx)
}

// Start registers the nodes and keeps them and their pods until ctx ends;
// then, with Cleanup, it deletes the Node objects.
func (s *Simulator) Start(ctx context.Context) error {
	if err := s.addHandlers(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.nodeInf.Run(ctx.Done()) })
	wg.Go(func() { s.podInf.Run(ctx.Done()) })
	defer s.shutDownQueues()
	if !cache.WaitForCacheSync(ctx.Done(), s.nodeInf.HasSynced, s.podInf.HasSynced) {
		return nil
	}
	s.reservePodIPs()
	for i, n := range s.nodes {
		s.nodeQ.q.Add(n.name)
		s.leaseQ.q.AddAfter(n.name, s.cfg.LeaseRenew*time.Duration(i)/time.Duration(len(s.nodes)))
	}
	s.nodeQ.run(ctx, &wg, s.cfg.NodeWorkers, s.log)
	s.leaseQ.run(ctx, &wg, s.cfg.LeaseWorkers, s.log)
	s.podQ.run(ctx, &wg, s.cfg.PodWorkers, s.log)
	s.log.Info("simulating nodes", "count", len(s.nodes), "first", s.nodes[0].name, "last", s.nodes[len(s.nodes)-1].name)
	<-ctx.Done()
	s.shutDownQueues()
	wg.Wait()
	if s.cfg.Cleanup {
		return s.deleteNodes()
	}
	return nil
}

func (s *Simulator) shutDownQueues() {
	s.nodeQ.q.ShutDown()
	s.leaseQ.q.ShutDown()
	s.podQ.q.ShutDown()
}

// addHandlers routes informer events of the simulated nodes and their pods
// to the queues.
func (s *Simulator) addHandlers() error {
	_, err := s.nodeInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { s.enqueueNode(obj) },
		UpdateFunc: func(_, obj interface{}) { s.enqueueNode(obj) },
		DeleteFunc: s.enqueueNode,
	})
	if err != nil {
		return fmt.Errorf("simulate: node handler: %w", err)
	}
	_, err = s.podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { s.enqueuePod(obj) },
		UpdateFunc: func(_, obj interface{}) { s.enqueuePod(obj) },
		DeleteFunc: s.forgetPod,
	})
	if err != nil {
		return fmt.Errorf("simulate: pod handler: %w", err)
	}
	return nil
}

func (s *Simulator) enqueueNode(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if n, ok := obj.(*corev1.Node); ok && s.byName[n.Name] != nil {
		s.nodeQ.q.Add(n.Name)
	}
}

// deleteNodes removes the simulated Node objects (their Leases go with
// them, by owner reference) within 30 seconds.
func (s *Simulator) deleteNodes() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	next := make(chan string)
	for range s.cfg.NodeWorkers * 2 {
		wg.Go(func() {
			for name := range next {
				if err := s.deleteNode(ctx, name); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, n := range s.nodes {
		next <- n.name
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("simulate: delete nodes: %d failed, the first: %w", len(errs), errs[0])
	}
	s.log.Info("simulated nodes deleted", "count", len(s.nodes))
	return nil
}
