// Package namespace empties namespaces that are being deleted: it deletes
// every namespaced object in them, then removes the "kubernetes" finalizer
// so the API server deletes the namespace itself. While content remains it
// says what in the namespace's status conditions, as Kubernetes does.
package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/apiresources"
	"github.com/skiff/skiff/internal/controller/worker"
)

// finalizerName is the namespace spec finalizer this controller owns.
const finalizerName = corev1.FinalizerKubernetes

// Controller is the namespace deletion controller.
type Controller struct {
	client    kubernetes.Interface
	metadata  metadata.Interface
	discovery discovery.DiscoveryInterface
	lister    cache.Indexer
	synced    cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	log       *slog.Logger
}

// New returns a controller over the given clients, registering its event
// handlers with factory.
func New(client kubernetes.Interface, md metadata.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	inf := factory.Core().V1().Namespaces().Informer()
	c := &Controller{
		client: client, metadata: md, discovery: client.Discovery(),
		lister: inf.GetIndexer(), synced: inf.HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
		log: log.With("controller", "namespace"),
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
	})
	return c
}

func (c *Controller) enqueue(obj interface{}) {
	ns, ok := obj.(*corev1.Namespace)
	if ok && ns.DeletionTimestamp != nil {
		c.queue.Add(ns.Name)
	}
}

// Start runs workers until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: []cache.InformerSynced{c.synced}, Log: c.log,
		Sync: func(ctx context.Context, name string) (time.Duration, error) {
			// Content still going (graceful deletions, finalizers): look
			// again in a moment.
			if remaining, err := c.sync(ctx, name); err != nil || !remaining {
				return 0, err
			}
			return 2 * time.Second, nil
		}})
	return nil
}

// sync deletes the namespace's content. remaining says some is still
// there (being deleted gracefully or waiting on finalizers).
func (c *Controller) sync(ctx context.Context, name string) (bool, error) {
	obj, exists, err := c.lister.GetByKey(name)
	if err != nil || !exists {
		return false, err
	}
	ns := obj.(*corev1.Namespace)
	if ns.DeletionTimestamp == nil || !hasFinalizer(ns) {
		return false, nil
	}
	resources, err := c.namespacedResources()
	if err != nil {
		return true, c.setConditions(ctx, ns, nil, err)
	}
	left := map[string]int{}
	finalizers := map[string]int{}
	for _, gvr := range resources {
		n, fins, err := c.deleteAll(ctx, name, gvr)
		if err != nil {
			return true, err
		}
		if n > 0 {
			left[gvr.GroupResource().String()] = n
		}
		for f, k := range fins {
			finalizers[f] += k
		}
	}
	if len(left) > 0 {
		return true, c.setConditions(ctx, ns, &contents{left, finalizers}, nil)
	}
	return false, c.finalize(ctx, ns)
}

func hasFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == finalizerName {
			return true
		}
	}
	return false
}

// namespacedResources lists the namespaced resources that can be listed
// and deleted, at their preferred versions.
func (c *Controller) namespacedResources() ([]schema.GroupVersionResource, error) {
	return apiresources.Discover(c.discovery, true, "list", "delete")
}

// deleteAll deletes every object of gvr in ns and returns how many are
// still there and their finalizers.
func (c *Controller) deleteAll(ctx context.Context, ns string, gvr schema.GroupVersionResource) (int, map[string]int, error) {
	res := c.metadata.Resource(gvr).Namespace(ns)
	list, err := res.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	policy := metav1.DeletePropagationBackground
	finalizers := map[string]int{}
	for _, it := range list.Items {
		for _, f := range it.Finalizers {
			finalizers[f]++
		}
		if it.DeletionTimestamp != nil {
			continue
		}
		err := res.Delete(ctx, it.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, nil, fmt.Errorf("delete %s %s: %w", gvr.GroupResource(), it.Name, err)
		}
	}
	if len(list.Items) == 0 {
		return 0, nil, nil
	}
	after, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	return len(after.Items), finalizers, nil
}

type contents struct {
	left       map[string]int
	finalizers map[string]int
}

// setConditions reports why the namespace is not gone yet.
func (c *Controller) setConditions(ctx context.Context, ns *corev1.Namespace, left *contents, discoveryErr error) error {
	next := ns.DeepCopy()
	now := metav1.Now()
	set := func(t corev1.NamespaceConditionType, status corev1.ConditionStatus, reason, msg string) {
		cond := corev1.NamespaceCondition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: now}
		for i := range next.Status.Conditions {
			if next.Status.Conditions[i].Type == t {
				if next.Status.Conditions[i].Status == status && next.Status.Conditions[i].Message == msg {
					return
				}
				next.Status.Conditions[i] = cond
				return
			}
		}
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	if discoveryErr != nil {
		set(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionTrue, "DiscoveryFailed", discoveryErr.Error())
	} else {
		set(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered")
	}
	if left != nil {
		set(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: "+summary(left.left, "instances"))
		if len(left.finalizers) > 0 {
			set(corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue, "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "+summary(left.finalizers, "resource instances"))
		}
	}
	if _, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

func summary(counts map[string]int, unit string) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s has %d %s", k, counts[k], unit))
	}
	return strings.Join(parts, ", ")
}

// finalize removes this controller's finalizer; the API server then
// deletes the empty namespace.
func (c *Controller) finalize(ctx context.Context, ns *corev1.Namespace) error {
	next := ns.DeepCopy()
	var keep []corev1.FinalizerName
	for _, f := range next.Spec.Finalizers {
		if f != finalizerName {
			keep = append(keep, f)
		}
	}
	next.Spec.Finalizers = keep
	_, err := c.client.CoreV1().Namespaces().Finalize(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
