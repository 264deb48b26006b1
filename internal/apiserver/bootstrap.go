package apiserver

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// EnsureObjects creates each object unless one of its name exists. It goes
// through defaulting and validation like any create.
func (s *Server) EnsureObjects(ctx context.Context, objs ...runtime.Object) error {
	for _, obj := range objs {
		gvks, _, err := s.scheme.ObjectKinds(obj)
		if err != nil || len(gvks) == 0 {
			return fmt.Errorf("apiserver: bootstrap object %T: %w", obj, err)
		}
		gvk := gvks[0]
		h := s.byKind[gvkKey(gvk.Group, gvk.Version, gvk.Kind)]
		if h == nil {
			return fmt.Errorf("apiserver: bootstrap object %s is not served", gvk)
		}
		m := objMeta(obj)
		_, _, err = h.getObject(ctx, m.GetNamespace(), m.GetName(), 0)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		_, err = h.createObject(ctx, obj.DeepCopyObject(), writeOptions{manager: "skiff-bootstrap"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("apiserver: bootstrap %s %s: %w", gvk.Kind, m.GetName(), err)
		}
	}
	return nil
}
