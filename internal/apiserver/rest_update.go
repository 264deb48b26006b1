package apiserver

import (
	"context"
	"errors"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/store"
)

// maxUpdateAttempts bounds the read-modify-write loop under contention.
const maxUpdateAttempts = 32

// updateFunc computes the new object from the current one (nil when it
// does not exist). It must not modify cur.
type updateFunc func(cur runtime.Object) (runtime.Object, error)

// update serves PUT of an object, its status or a namespace's finalize.
func (h *resourceHandler) update(req *request, sub string) error {
	obj, err := h.decodeBody(req)
	if err != nil {
		return err
	}
	opts, err := h.writeOptions(req, sub)
	if err != nil {
		return err
	}
	m := objMeta(obj)
	if m.GetName() != req.ri.Name {
		return badRequest("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), req.ri.Name)
	}
	if err := h.checkNamespace(req, obj); err != nil {
		return err
	}
	out, created, err := h.updateObject(req.ctx, req.ri.Namespace, req.ri.Name, opts, func(runtime.Object) (runtime.Object, error) {
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return h.respond(req, code, out)
}

// updateObject runs the guaranteed-update loop: read, compute, prepare,
// validate, compare-and-swap, retrying on a conflict the client did not
// cause. created says the object did not exist and was created.
func (h *resourceHandler) updateObject(ctx context.Context, ns, name string, opts writeOptions, fn updateFunc) (runtime.Object, bool, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		kv, _, err := h.s.cfg.Store.Get(ctx, h.key(ns, name), 0)
		if errors.Is(err, store.ErrNotFound) {
			obj, err := h.createOnUpdate(ctx, name, opts, fn)
			return obj, err == nil, err
		}
		if err != nil {
			return nil, false, toStatusError(err, h.res, name)
		}
		cur, err := h.decodeServed(kv)
		if err != nil {
			return nil, false, err
		}
		obj, err := fn(cur)
		if err != nil {
			return nil, false, err
		}
		out, done, err := h.tryUpdate(ctx, cur, obj, kv.ModRevision, opts)
		if done || err != nil {
			return out, false, err
		}
	}
	return nil, false, apierrors.NewConflict(h.res.GroupResource(), name, errors.New("too many concurrent updates"))
}

func (h *resourceHandler) createOnUpdate(ctx context.Context, name string, opts writeOptions, fn updateFunc) (runtime.Object, error) {
	allowed := opts.create == createAlways || (opts.create == createIfAllowed && h.res.AllowCreateOnUpdate)
	if !allowed || opts.sub != "" {
		return nil, apierrors.NewNotFound(h.res.GroupResource(), name)
	}
	obj, err := fn(nil)
	if err != nil {
		return nil, err
	}
	objMeta(obj).SetResourceVersion("")
	return h.createObject(ctx, obj, opts)
}

// tryUpdate writes obj over cur. done is false when the write lost a race
// it may retry.
func (h *resourceHandler) tryUpdate(ctx context.Context, cur, obj runtime.Object, modRev int64, opts writeOptions) (runtime.Object, bool, error) {
	m, cm := objMeta(obj), objMeta(cur)
	if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return nil, true, apierrors.NewConflict(h.res.GroupResource(), cm.GetName(), errors.New(conflictMsg))
	}
	explicitRV := m.GetResourceVersion() != ""
	if uid := m.GetUID(); uid != "" && uid != cm.GetUID() {
		return nil, true, apierrors.NewConflict(h.res.GroupResource(), cm.GetName(),
			errors.New("Precondition failed: UID in precondition: "+string(uid)+", UID in object meta: "+string(cm.GetUID())))
	}
	obj = h.prepareUpdate(obj, cur, opts.sub)
	if errs := h.validateUpdate(obj, cur, opts.sub); len(errs) > 0 {
		return nil, true, invalid(h.res, cm.GetName(), errs)
	}
	if m.GetManagedFields() == nil {
		m.SetManagedFields(cm.GetManagedFields())
	}
	var claims []store.Claim
	if h.alloc != nil && opts.sub == "" && !h.deleteOnUpdate(obj) {
		var err error
		if claims, err = h.alloc.allocate(ctx, obj, cur, opts.dryRun); err != nil {
			return nil, true, err
		}
	}
	if equality.Semantic.DeepEqual(obj, cur) {
		return cur, true, nil
	}
	if !opts.applied {
		obj = h.fm.update(cur, obj, opts.manager, opts.sub)
	}
	if opts.dryRun {
		return obj, true, nil
	}
	if h.deleteOnUpdate(obj) {
		out, err := h.finishDelete(ctx, cur, modRev)
		if errors.Is(err, store.ErrConflict) && !explicitRV {
			return nil, false, nil
		}
		return out, true, err
	}
	stored, err := h.toStored(obj)
	if err != nil {
		return nil, true, apierrors.NewInternalError(err)
	}
	data, err := h.codec.encode(stored)
	if err != nil {
		return nil, true, apierrors.NewInternalError(err)
	}
	rev, err := h.s.cfg.Store.UpdateWithClaims(ctx, h.key(cm.GetNamespace(), cm.GetName()), data, modRev, h.res.TTL, claims)
	var taken *store.ClaimedError
	if (errors.Is(err, store.ErrConflict) && !explicitRV) || errors.As(err, &taken) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, toStatusError(err, h.res, cm.GetName())
	}
	setRV(obj, rev)
	return obj, true, nil
}

// prepareUpdate keeps what the client may not change and applies the
// strategy. For /status only status (and annotations) change; for the
// main resource status is kept.
func (h *resourceHandler) prepareUpdate(obj, cur runtime.Object, sub string) runtime.Object {
	switch sub {
	case "status":
		// Status, and annotations as Kubernetes' status strategies let
		// through (the deployment controller records the revision so).
		next := cur.DeepCopyObject()
		copyStatus(next, obj)
		objMeta(next).SetAnnotations(objMeta(obj).GetAnnotations())
		obj = next
	case "finalize":
		next := cur.DeepCopyObject().(*corev1.Namespace)
		next.Spec.Finalizers = obj.(*corev1.Namespace).Spec.Finalizers
		obj = next
	}
	m, cm := objMeta(obj), objMeta(cur)
	m.SetUID(cm.GetUID())
	m.SetCreationTimestamp(cm.GetCreationTimestamp())
	m.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	m.SetSelfLink("")
	m.SetResourceVersion(cm.GetResourceVersion())
	m.SetGeneration(cm.GetGeneration())
	if sub != "" {
		return obj
	}
	if h.res.Status {
		copyStatus(obj, cur)
	}
	st := h.res.Strategy
	if st.Default != nil {
		st.Default(obj)
	}
	if st.PrepareForUpdate != nil {
		st.PrepareForUpdate(obj, cur)
	}
	if h.res.Generation && specChanged(obj, cur) {
		m.SetGeneration(cm.GetGeneration() + 1)
	}
	return obj
}

func (h *resourceHandler) validateUpdate(obj, cur runtime.Object, sub string) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(objMeta(obj), objMeta(cur), field.NewPath("metadata"))
	st := h.res.Strategy
	if sub == "status" {
		if st.ValidateStatus != nil {
			errs = append(errs, st.ValidateStatus(obj, cur)...)
		}
		return errs
	}
	errs = append(errs, h.validateMeta(obj)...)
	if st.Validate != nil {
		errs = append(errs, st.Validate(obj)...)
	}
	if st.ValidateUpdate != nil {
		errs = append(errs, st.ValidateUpdate(obj, cur)...)
	}
	return errs
}

// deleteOnUpdate says an update completes a pending deletion: the object
// is being deleted, its grace period is over and no finalizer remains.
func (h *resourceHandler) deleteOnUpdate(obj runtime.Object) bool {
	m := objMeta(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok {
		return len(ns.Spec.Finalizers) == 0
	}
	g := m.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}
