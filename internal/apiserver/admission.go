package apiserver

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/store"
)

// admission runs the built-in admission checks on creates.
type admission struct {
	s *Server
}

// admitCreate refuses objects in namespaces that do not exist or are
// being deleted (Kubernetes' NamespaceLifecycle plugin).
func (a *admission) admitCreate(ctx context.Context, res *registry.Resource, obj runtime.Object) error {
	if !res.Namespaced {
		return nil
	}
	m := objMeta(obj)
	ns := m.GetNamespace()
	if ns == "" {
		return nil // validation reports the missing namespace
	}
	h := a.s.handlers[gvrKey("", "v1", "namespaces")]
	kv, _, err := a.s.cfg.Store.Get(ctx, h.key("", ns), 0)
	if errors.Is(err, store.ErrNotFound) {
		return apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
	}
	if err != nil {
		return toStatusError(err, h.res, ns)
	}
	got, err := h.codec.decode(kv)
	if err != nil {
		return err
	}
	nsObj := got.(*corev1.Namespace)
	if nsObj.Status.Phase == corev1.NamespaceTerminating || nsObj.DeletionTimestamp != nil {
		name := m.GetName()
		if name == "" {
			name = m.GetGenerateName()
		}
		e := apierrors.NewForbidden(res.GroupResource(), name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
		e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
			Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace",
		})
		return e
	}
	return nil
}
