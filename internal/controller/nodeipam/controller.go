// Package nodeipam gives every node a pod CIDR (spec.podCIDR) from the
// cluster CIDR: one /24 each by default, as Kubernetes' range allocator.
package nodeipam

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/worker"
)

// ErrFull means every pod CIDR of the cluster CIDR is taken.
var ErrFull = errors.New("nodeipam: cluster CIDR is full")

// Controller allocates pod CIDRs.
type Controller struct {
	client kubernetes.Interface
	lister cache.Indexer
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	alloc  *allocator
	log    *slog.Logger
}

// New returns a controller allocating /maskSize subnets of cidr.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, cidr *net.IPNet, maskSize int, log *slog.Logger) (*Controller, error) {
	alloc, err := newAllocator(cidr, maskSize)
	if err != nil {
		return nil, err
	}
	inf := factory.Core().V1().Nodes().Informer()
	c := &Controller{
		client: client, lister: inf.GetIndexer(), synced: inf.HasSynced, alloc: alloc, log: log.With("controller", "nodeipam"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodeipam"}),
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.queue.Add(obj.(*corev1.Node).Name) },
		UpdateFunc: func(_, obj interface{}) { c.queue.Add(obj.(*corev1.Node).Name) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if n, ok := obj.(*corev1.Node); ok && n.Spec.PodCIDR != "" {
				c.alloc.release(n.Spec.PodCIDR)
			}
		},
	})
	return c, nil
}

// Start allocates until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: 1, Synced: []cache.InformerSynced{c.synced}, Log: c.log,
		// Take the CIDRs nodes already have before handing out new ones.
		Started: func() {
			for _, obj := range c.lister.List() {
				if n := obj.(*corev1.Node); n.Spec.PodCIDR != "" {
					c.alloc.occupy(n.Spec.PodCIDR)
				}
			}
		},
		Sync: func(ctx context.Context, name string) (time.Duration, error) { return 0, c.sync(ctx, name) }})
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	obj, ok, err := c.lister.GetByKey(name)
	if err != nil || !ok {
		return err
	}
	node := obj.(*corev1.Node)
	if node.Spec.PodCIDR != "" {
		c.alloc.occupy(node.Spec.PodCIDR)
		return nil
	}
	cidr, err := c.alloc.next()
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]interface{}{"spec": map[string]interface{}{"podCIDR": cidr, "podCIDRs": []string{cidr}}})
	_, err = c.client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		c.alloc.release(cidr)
		if apierrors.IsNotFound(err) {
			return nil
		}
		// The cache may lag a CIDR given a moment ago (a second event
		// for the same new node): then the node has one and all is well.
		if cur, gerr := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); gerr == nil && cur.Spec.PodCIDR != "" {
			c.alloc.occupy(cur.Spec.PodCIDR)
			return nil
		}
		return fmt.Errorf("patch node: %w", err)
	}
	c.log.Info("allocated pod CIDR", "node", name, "podCIDR", cidr)
	return nil
}

// allocator hands out the subnets of a cluster CIDR.
type allocator struct {
	mu     sync.Mutex
	base   uint32
	bits   int // host bits of each subnet
	count  int
	used   map[int]bool
	prefix int
}

func newAllocator(cidr *net.IPNet, maskSize int) (*allocator, error) {
	ones, total := cidr.Mask.Size()
	if cidr.IP.To4() == nil || total != 32 || maskSize < ones || maskSize > 30 {
		return nil, fmt.Errorf("nodeipam: cannot split %s into /%d subnets", cidr, maskSize)
	}
	return &allocator{base: binary.BigEndian.Uint32(cidr.IP.To4()), bits: 32 - maskSize, count: 1 << (maskSize - ones), used: map[int]bool{}, prefix: maskSize}, nil
}

func (a *allocator) subnet(i int) string {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, a.base+uint32(i)<<a.bits)
	return fmt.Sprintf("%s/%d", ip, a.prefix)
}

func (a *allocator) index(cidr string) (int, bool) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil || ip.To4() == nil {
		return 0, false
	}
	if ones, _ := n.Mask.Size(); ones != a.prefix {
		return 0, false
	}
	off := binary.BigEndian.Uint32(n.IP.To4()) - a.base
	i := int(off >> a.bits)
	return i, i >= 0 && i < a.count && off>>a.bits<<a.bits == off
}

func (a *allocator) next() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < a.count; i++ {
		if !a.used[i] {
			a.used[i] = true
			return a.subnet(i), nil
		}
	}
	return "", ErrFull
}

func (a *allocator) occupy(cidr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i, ok := a.index(cidr); ok {
		a.used[i] = true
	}
}

func (a *allocator) release(cidr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i, ok := a.index(cidr); ok {
		delete(a.used, i)
	}
}
