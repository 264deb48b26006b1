// Package serviceaccount makes sure every namespace has a "default"
// ServiceAccount, as Kubernetes' service account controller does, and
// publishes the cluster CA in a "kube-root-ca.crt" ConfigMap in every
// namespace, as its root CA publisher does.
package serviceaccount

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/controller/worker"
)

// Names of what the controller keeps in every namespace.
const (
	DefaultName  = "default"
	RootCAConfig = "kube-root-ca.crt"
)

// Controller keeps the default ServiceAccount and the CA ConfigMap.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	configMaps corelisters.ConfigMapLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	caPEM      []byte
	log        *slog.Logger
}

// New returns the controller; caPEM is published as ca.crt (none if nil).
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, caPEM []byte, log *slog.Logger) *Controller {
	c := &Controller{
		client: client, caPEM: caPEM, log: log.With("controller", "serviceaccount"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "serviceaccount"}),
	}
	ns := factory.Core().V1().Namespaces()
	sa := factory.Core().V1().ServiceAccounts()
	cm := factory.Core().V1().ConfigMaps()
	c.namespaces, c.accounts, c.configMaps = ns.Lister(), sa.Lister(), cm.Lister()
	_, _ = ns.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.queue.Add(obj.(*corev1.Namespace).Name) },
		UpdateFunc: func(_, obj interface{}) { c.queue.Add(obj.(*corev1.Namespace).Name) },
	})
	// Someone deleted the account or the ConfigMap: put it back.
	requeueOwn := func(name string) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if m, ok := obj.(metav1.Object); ok && m.GetName() == name {
				c.queue.Add(m.GetNamespace())
			}
		}}
	}
	_, _ = sa.Informer().AddEventHandler(requeueOwn(DefaultName))
	_, _ = cm.Informer().AddEventHandler(requeueOwn(RootCAConfig))
	c.synced = []cache.InformerSynced{ns.Informer().HasSynced, sa.Informer().HasSynced, cm.Informer().HasSynced}
	return c
}

// Start runs until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	worker.Run(ctx, worker.Config{Queue: c.queue, Workers: workers, Synced: c.synced, Log: c.log,
		Sync: func(ctx context.Context, ns string) (time.Duration, error) { return 0, c.sync(ctx, ns) }})
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase != corev1.NamespaceActive || ns.DeletionTimestamp != nil {
		return nil // nothing new in a terminating namespace
	}
	if _, err := c.accounts.ServiceAccounts(name).Get(DefaultName); apierrors.IsNotFound(err) {
		_, err = c.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: name},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && !isTerminating(err) {
			return err
		}
	}
	if c.caPEM == nil {
		return nil
	}
	cm, err := c.configMaps.ConfigMaps(name).Get(RootCAConfig)
	switch {
	case apierrors.IsNotFound(err):
		_, err = c.client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCAConfig, Namespace: name,
				Annotations: map[string]string{"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
			Data: map[string]string{"ca.crt": string(c.caPEM)},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && !isTerminating(err) {
			return err
		}
	case err != nil:
		return err
	case cm.Data["ca.crt"] != string(c.caPEM):
		cm = cm.DeepCopy()
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data["ca.crt"] = string(c.caPEM)
		if _, err := c.client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// isTerminating says a create failed because the namespace is going away.
func isTerminating(err error) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	st, ok := err.(apierrors.APIStatus)
	if !ok || st.Status().Details == nil {
		return false
	}
	for _, c := range st.Status().Details.Causes {
		if c.Type == corev1.NamespaceTerminatingCause {
			return true
		}
	}
	return false
}
