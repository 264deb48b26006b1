// Package nodelifecycle watches node health as Kubernetes' node lifecycle
// controller does: a node whose agent stops renewing its Lease for the
// grace period gets its conditions set to Unknown; nodes get the
// node.kubernetes.io/* taints that match their conditions (not-ready,
// unreachable, pressure, unschedulable), so the scheduler keeps pods off
// them; and pods on a node with a NoExecute taint they do not tolerate are
// evicted, at once or after their tolerationSeconds.
package nodelifecycle

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	coordinationinformers "k8s.io/client-go/informers/coordination/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// Defaults as kube-controller-manager's.
const (
	DefaultGracePeriod = 40 * time.Second
	monitorPeriod      = 5 * time.Second
	nodeNameIndex      = "spec.nodeName"
)

// Config configures the controller.
type Config struct {
	Client  kubernetes.Interface
	Factory informers.SharedInformerFactory
	// GracePeriod is how long a node may go without a heartbeat before it
	// is marked Unknown (--node-monitor-grace-period).
	GracePeriod time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg      Config
	client   kubernetes.Interface
	nodes    corelisters.NodeLister
	leases   cache.Indexer
	pods     cache.Indexer
	synced   []cache.InformerSynced
	nodeQ    workqueue.TypedRateLimitingInterface[string]
	podQ     workqueue.TypedRateLimitingInterface[types.NamespacedName]
	recorder record.EventRecorder
	log      *slog.Logger

	mu sync.Mutex
	// health tracks, per node, the last heartbeat seen and when it was
	// seen on this controller's clock (clocks of nodes may be off).
	health map[string]*health
}

type health struct {
	heartbeat  time.Time // lease renewTime or Ready's lastHeartbeatTime
	observedAt time.Time
}

// New builds the controller.
func New(cfg Config) *Controller {
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Controller{
		cfg: cfg, client: cfg.Client, log: cfg.Log.With("controller", "nodelifecycle"), health: map[string]*health{},
		nodeQ: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "node-taints"}),
		podQ: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "taint-eviction"}),
	}
	nodes := cfg.Factory.Core().V1().Nodes()
	c.nodes = nodes.Lister()
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.nodeQ.Add(obj.(*corev1.Node).Name) },
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*corev1.Node), obj.(*corev1.Node)
			c.nodeQ.Add(n.Name)
			if !sameNoExecute(o.Spec.Taints, n.Spec.Taints) {
				c.enqueuePodsOn(n.Name)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				c.mu.Lock()
				delete(c.health, n.Name)
				c.mu.Unlock()
			}
		},
	})
	leases := cfg.Factory.InformerFor(&coordinationv1.Lease{}, func(client kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coordinationinformers.NewLeaseInformer(client, corev1.NamespaceNodeLease, resync, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	})
	c.leases = leases.GetIndexer()
	pods := cfg.Factory.Core().V1().Pods().Informer()
	_ = pods.AddIndexers(cache.Indexers{nodeNameIndex: func(obj interface{}) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	c.pods = pods.GetIndexer()
	_, _ = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.enqueuePod(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj interface{}) {
			o, p := old.(*corev1.Pod), obj.(*corev1.Pod)
			if o.Spec.NodeName != p.Spec.NodeName || len(o.Spec.Tolerations) != len(p.Spec.Tolerations) {
				c.enqueuePod(p)
			}
		},
	})
	c.synced = []cache.InformerSynced{nodes.Informer().HasSynced, leases.HasSynced, pods.HasSynced}
	return c
}

func (c *Controller) enqueuePod(p *corev1.Pod) {
	if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
		c.podQ.Add(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
	}
}

func (c *Controller) enqueuePodsOn(node string) {
	objs, _ := c.pods.ByIndex(nodeNameIndex, node)
	for _, obj := range objs {
		c.enqueuePod(obj.(*corev1.Pod))
	}
}

// Start runs until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	defer c.nodeQ.ShutDown()
	defer c.podQ.ShutDown()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer b.Shutdown()
	c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "node-controller"})
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	go wait.UntilWithContext(ctx, c.monitor, monitorPeriod)
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for c.nextNode(ctx) {
		}
	}, time.Second)
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for c.nextPod(ctx) {
		}
	}, time.Second)
	<-ctx.Done()
	return nil
}

// monitor marks nodes Unknown whose heartbeat stopped.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	now := c.cfg.Now()
	for _, n := range nodes {
		hb := c.heartbeat(n)
		c.mu.Lock()
		h, ok := c.health[n.Name]
		if !ok || !hb.Equal(h.heartbeat) {
			h = &health{heartbeat: hb, observedAt: now}
			c.health[n.Name] = h
		}
		stale := now.Sub(h.observedAt) > c.cfg.GracePeriod
		c.mu.Unlock()
		if stale && readyStatus(n) != corev1.ConditionUnknown {
			if err := c.markUnknown(ctx, n, now); err != nil && !apierrors.IsNotFound(err) {
				c.log.Warn("mark node unknown", "node", n.Name, "err", err)
			}
		}
	}
}

// heartbeat is the latest of the node's Lease renewal and its Ready
// condition's heartbeat.
func (c *Controller) heartbeat(n *corev1.Node) time.Time {
	var hb time.Time
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			hb = cond.LastHeartbeatTime.Time
		}
	}
	if obj, ok, _ := c.leases.GetByKey(corev1.NamespaceNodeLease + "/" + n.Name); ok {
		if l := obj.(*coordinationv1.Lease); l.Spec.RenewTime != nil && l.Spec.RenewTime.After(hb) {
			hb = l.Spec.RenewTime.Time
		}
	}
	return hb
}

// markUnknown sets the node's agent-reported conditions to Unknown and
// its pods' Ready condition to False.
func (c *Controller) markUnknown(ctx context.Context, n *corev1.Node, now time.Time) error {
	node := n.DeepCopy()
	t := metav1.NewTime(now)
	for _, typ := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		found := false
		for i := range node.Status.Conditions {
			cond := &node.Status.Conditions[i]
			if cond.Type != typ {
				continue
			}
			found = true
			if cond.Status != corev1.ConditionUnknown {
				cond.Status, cond.Reason, cond.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
				cond.LastTransitionTime = t
			}
		}
		if !found {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type: typ, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated",
				Message: "Kubelet never posted node status.", LastHeartbeatTime: t, LastTransitionTime: t,
			})
		}
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return err
	}
	c.log.Info("node stopped posting status; marked Unknown", "node", n.Name, "grace", c.cfg.GracePeriod)
	c.recorder.Eventf(&corev1.ObjectReference{Kind: "Node", Name: n.Name, UID: types.UID(n.Name)}, corev1.EventTypeNormal,
		"NodeNotReady", "Node %s status is now: NodeNotReady", n.Name)
	objs, _ := c.pods.ByIndex(nodeNameIndex, n.Name)
	for _, obj := range objs {
		p := obj.(*corev1.Pod)
		if err := c.markPodNotReady(ctx, p); err != nil && !apierrors.IsNotFound(err) {
			c.log.Warn("mark pod not ready", "pod", p.Namespace+"/"+p.Name, "err", err)
		}
	}
	return nil
}

func (c *Controller) markPodNotReady(ctx context.Context, p *corev1.Pod) error {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionFalse {
			return nil
		}
	}
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"conditions": []interface{}{
		map[string]interface{}{"type": corev1.PodReady, "status": corev1.ConditionFalse, "reason": "NodeNotReady",
			"lastTransitionTime": c.cfg.Now().UTC().Format(time.RFC3339)},
	}}})
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
