package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// replicated is the view of a ReplicaSet or a ReplicationController that the
// shared logic works on. It points into an object of the informer cache:
// read it, never change it.
type replicated struct {
	meta            *metav1.ObjectMeta
	replicas        int32
	minReadySeconds int32
	// selector is nil when the object's selector is invalid or empty: such
	// an object selects no pods.
	selector labels.Selector
	template *corev1.PodTemplateSpec
	status   appsv1.ReplicaSetStatus
	// orig is the object itself: the subject of events and the base of
	// status updates.
	orig runtime.Object
}

// workload adapts one kind of object (ReplicaSet or ReplicationController)
// to the shared logic: reading it from the cache and the API, and writing
// its status.
type workload interface {
	gvk() schema.GroupVersionKind
	// view converts an informer object; ok is false for other types.
	view(obj interface{}) (r *replicated, ok bool)
	get(namespace, name string) (*replicated, error)
	list(namespace string) ([]*replicated, error)
	// getLive reads the object from the API server, not the cache.
	getLive(ctx context.Context, namespace, name string) (*replicated, error)
	updateStatus(ctx context.Context, r *replicated, status appsv1.ReplicaSetStatus) (*replicated, error)
}

// replicaSets is the workload of apps/v1 ReplicaSets.
type replicaSets struct {
	client kubernetes.Interface
	lister appslisters.ReplicaSetLister
}

func (replicaSets) gvk() schema.GroupVersionKind {
	return appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
}

func (replicaSets) view(obj interface{}) (*replicated, bool) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return nil, false
	}
	return viewReplicaSet(rs), true
}

func viewReplicaSet(rs *appsv1.ReplicaSet) *replicated {
	r := &replicated{
		meta: &rs.ObjectMeta, replicas: 1, minReadySeconds: rs.Spec.MinReadySeconds,
		template: &rs.Spec.Template, status: rs.Status, orig: rs,
	}
	if rs.Spec.Replicas != nil {
		r.replicas = *rs.Spec.Replicas
	}
	if sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector); err == nil && !sel.Empty() {
		r.selector = sel
	}
	return r
}

func (w replicaSets) get(namespace, name string) (*replicated, error) {
	rs, err := w.lister.ReplicaSets(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return viewReplicaSet(rs), nil
}

func (w replicaSets) list(namespace string) ([]*replicated, error) {
	all, err := w.lister.ReplicaSets(namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*replicated, 0, len(all))
	for _, rs := range all {
		out = append(out, viewReplicaSet(rs))
	}
	return out, nil
}

func (w replicaSets) getLive(ctx context.Context, namespace, name string) (*replicated, error) {
	rs, err := w.client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get replicaset: %w", err)
	}
	return viewReplicaSet(rs), nil
}

func (w replicaSets) updateStatus(ctx context.Context, r *replicated, status appsv1.ReplicaSetStatus) (*replicated, error) {
	rs := r.orig.(*appsv1.ReplicaSet).DeepCopy()
	rs.Status = status
	rs, err := w.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update replicaset status: %w", err)
	}
	return viewReplicaSet(rs), nil
}

// replicationControllers is the workload of core/v1 ReplicationControllers,
// which behave as ReplicaSets with an equality-based selector.
type replicationControllers struct {
	client kubernetes.Interface
	lister corelisters.ReplicationControllerLister
}

func (replicationControllers) gvk() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind("ReplicationController")
}

func (replicationControllers) view(obj interface{}) (*replicated, bool) {
	rc, ok := obj.(*corev1.ReplicationController)
	if !ok {
		return nil, false
	}
	return viewReplicationController(rc), true
}

func viewReplicationController(rc *corev1.ReplicationController) *replicated {
	r := &replicated{
		meta: &rc.ObjectMeta, replicas: 1, minReadySeconds: rc.Spec.MinReadySeconds,
		template: rc.Spec.Template, status: rcStatusToRS(rc.Status), orig: rc,
	}
	if rc.Spec.Replicas != nil {
		r.replicas = *rc.Spec.Replicas
	}
	if len(rc.Spec.Selector) > 0 {
		r.selector = labels.SelectorFromSet(rc.Spec.Selector)
	}
	return r
}

func (w replicationControllers) get(namespace, name string) (*replicated, error) {
	rc, err := w.lister.ReplicationControllers(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return viewReplicationController(rc), nil
}

func (w replicationControllers) list(namespace string) ([]*replicated, error) {
	all, err := w.lister.ReplicationControllers(namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*replicated, 0, len(all))
	for _, rc := range all {
		out = append(out, viewReplicationController(rc))
	}
	return out, nil
}

func (w replicationControllers) getLive(ctx context.Context, namespace, name string) (*replicated, error) {
	rc, err := w.client.CoreV1().ReplicationControllers(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get replicationcontroller: %w", err)
	}
	return viewReplicationController(rc), nil
}

func (w replicationControllers) updateStatus(ctx context.Context, r *replicated, status appsv1.ReplicaSetStatus) (*replicated, error) {
	rc := r.orig.(*corev1.ReplicationController).DeepCopy()
	rc.Status = rsStatusToRC(status)
	rc, err := w.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update replicationcontroller status: %w", err)
	}
	return viewReplicationController(rc), nil
}

func rcStatusToRS(s corev1.ReplicationControllerStatus) appsv1.ReplicaSetStatus {
	out := appsv1.ReplicaSetStatus{
		Replicas: s.Replicas, FullyLabeledReplicas: s.FullyLabeledReplicas, ReadyReplicas: s.ReadyReplicas,
		AvailableReplicas: s.AvailableReplicas, ObservedGeneration: s.ObservedGeneration,
	}
	for _, c := range s.Conditions {
		out.Conditions = append(out.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return out
}

func rsStatusToRC(s appsv1.ReplicaSetStatus) corev1.ReplicationControllerStatus {
	out := corev1.ReplicationControllerStatus{
		Replicas: s.Replicas, FullyLabeledReplicas: s.FullyLabeledReplicas, ReadyReplicas: s.ReadyReplicas,
		AvailableReplicas: s.AvailableReplicas, ObservedGeneration: s.ObservedGeneration,
	}
	for _, c := range s.Conditions {
		out.Conditions = append(out.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return out
}
