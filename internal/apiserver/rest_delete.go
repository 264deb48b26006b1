package apiserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/store"
)

// Finalizers the garbage collector acts on.
const (
	finalizerOrphan     = metav1.FinalizerOrphanDependents
	finalizerForeground = metav1.FinalizerDeleteDependents
)

// undeletableNamespaces may never be deleted.
var undeletableNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// delete serves DELETE of one object.
func (h *resourceHandler) delete(req *request) error {
	opts, err := h.deleteOptions(req)
	if err != nil {
		return err
	}
	dry, err := dryRun(req.query)
	if err != nil {
		return err
	}
	if len(opts.DryRun) > 0 {
		dry = true
	}
	out, deleted, err := h.deleteObject(req.ctx, req.ri.Namespace, req.ri.Name, opts, dry)
	if err != nil {
		return err
	}
	if deleted && !h.res.ReturnDeletedObject {
		return h.respondStatus(req, out)
	}
	return h.respond(req, http.StatusOK, out)
}

func (h *resourceHandler) respondStatus(req *request, obj runtime.Object) error {
	m := objMeta(obj)
	st := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details:  &metav1.StatusDetails{Name: m.GetName(), Group: h.res.Group, Kind: h.res.Resource, UID: m.GetUID()},
	}
	choice, err := negotiate(req.r, h.s.codecs, outputTable, outputPartialMetadata)
	if err != nil {
		return err
	}
	req.flushWarnings()
	return h.s.writeEncoded(req.w, http.StatusOK, choice.info, schema.GroupVersion{Version: "v1"}, st)
}

// deleteOptions reads DeleteOptions from the body or the query.
func (h *resourceHandler) deleteOptions(req *request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(req.r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		info, err := requestSerializer(req.r, h.s.codecs)
		if err != nil {
			return nil, err
		}
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := info.Serializer.Decode(body, &gvk, opts); err != nil {
			return nil, badRequest("invalid DeleteOptions: %v", err)
		}
	} else if err := metav1.ParameterCodec.DecodeParameters(req.query, metav1.SchemeGroupVersion, opts); err != nil {
		return nil, badRequest("invalid delete options: %v", err)
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, invalidDeleteOptions("propagationPolicy", string(*p), "Unsupported value")
		}
		if opts.OrphanDependents != nil { //nolint:staticcheck // still sent by old clients
			return nil, invalidDeleteOptions("propagationPolicy", string(*p), "orphanDependents and deletionPropagation cannot be both set")
		}
	}
	if g := opts.GracePeriodSeconds; g != nil && *g < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	return opts, nil
}

func invalidDeleteOptions(fieldName, value, msg string) error {
	return apierrors.NewBadRequest("DeleteOptions." + fieldName + ": Invalid value: \"" + value + "\": " + msg)
}

// deleteObject deletes, or marks for deletion, one object. deleted says it
// is gone from the store; otherwise the returned object carries its
// deletionTimestamp.
func (h *resourceHandler) deleteObject(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dry bool) (runtime.Object, bool, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		kv, _, err := h.s.cfg.Store.Get(ctx, h.key(ns, name), 0)
		if err != nil {
			return nil, false, toStatusError(err, h.res, name)
		}
		cur, err := h.decodeServed(kv)
		if err != nil {
			return nil, false, err
		}
		if err := h.checkPreconditions(cur, opts.Preconditions); err != nil {
			return nil, false, err
		}
		out, deleted, err := h.tryDelete(ctx, cur, kv.ModRevision, opts, dry)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return out, deleted, err
	}
	return nil, false, apierrors.NewConflict(h.res.GroupResource(), name, errors.New("too many concurrent updates"))
}

func (h *resourceHandler) checkPreconditions(cur runtime.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	m := objMeta(cur)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(h.res.GroupResource(), m.GetName(),
			errors.New("Precondition failed: UID in precondition: "+string(*p.UID)+", UID in object meta: "+string(m.GetUID())))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(h.res.GroupResource(), m.GetName(),
			errors.New("Precondition failed: ResourceVersion in precondition: "+*p.ResourceVersion+", ResourceVersion in object meta: "+m.GetResourceVersion()))
	}
	return nil
}

func (h *resourceHandler) tryDelete(ctx context.Context, cur runtime.Object, modRev int64, opts *metav1.DeleteOptions, dry bool) (runtime.Object, bool, error) {
	m := objMeta(cur)
	if ns, ok := cur.(*corev1.Namespace); ok {
		return h.deleteNamespace(ctx, ns, modRev, dry)
	}
	next := cur.DeepCopyObject()
	nm := objMeta(next)
	changed := h.applyPropagation(nm, opts)
	grace := h.gracePeriod(next, opts)
	if grace > 0 || len(nm.GetFinalizers()) > 0 {
		now := metav1.NewTime(time.Now().Truncate(time.Second))
		if grace > 0 {
			// A shorter grace period may replace a longer one, never the reverse.
			if old := m.GetDeletionGracePeriodSeconds(); m.GetDeletionTimestamp() == nil || old == nil || grace < *old {
				at := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
				nm.SetDeletionTimestamp(&at)
				nm.SetDeletionGracePeriodSeconds(&grace)
				if pod, ok := next.(*corev1.Pod); ok {
					pod.Spec.TerminationGracePeriodSeconds = &grace
				}
				changed = true
			}
		} else if m.GetDeletionTimestamp() == nil || m.GetDeletionGracePeriodSeconds() == nil || *m.GetDeletionGracePeriodSeconds() != 0 {
			zero := int64(0)
			if nm.GetDeletionTimestamp() == nil {
				nm.SetDeletionTimestamp(&now)
			}
			nm.SetDeletionGracePeriodSeconds(&zero)
			changed = true
		}
		if !changed || dry {
			return next, false, nil
		}
		out, err := h.writeRaw(ctx, next, modRev)
		return out, false, err
	}
	if dry {
		return cur, true, nil
	}
	out, err := h.finishDelete(ctx, cur, modRev)
	return out, err == nil, err
}

// applyPropagation adds or removes the orphan and foreground finalizers
// for the propagation policy. It reports a change.
func (h *resourceHandler) applyPropagation(m metav1.Object, opts *metav1.DeleteOptions) bool {
	policy := h.propagationPolicy(m, opts)
	if policy == "" {
		return false
	}
	want := map[metav1.DeletionPropagation]string{metav1.DeletePropagationOrphan: finalizerOrphan, metav1.DeletePropagationForeground: finalizerForeground}[policy]
	var out []string
	for _, f := range m.GetFinalizers() {
		if f != finalizerOrphan && f != finalizerForeground {
			out = append(out, f)
		}
	}
	if want != "" {
		out = append(out, want)
	}
	if equalStrings(out, m.GetFinalizers()) {
		return false
	}
	m.SetFinalizers(out)
	return true
}

// propagationPolicy returns the requested policy, or the resource's
// default when the object has no say of its own ("" keeps finalizers).
func (h *resourceHandler) propagationPolicy(m metav1.Object, opts *metav1.DeleteOptions) metav1.DeletionPropagation {
	if opts.PropagationPolicy != nil {
		return *opts.PropagationPolicy
	}
	if o := opts.OrphanDependents; o != nil { //nolint:staticcheck // still sent by old clients
		if *o {
			return metav1.DeletePropagationOrphan
		}
		return metav1.DeletePropagationBackground
	}
	for _, f := range m.GetFinalizers() {
		if f == finalizerOrphan || f == finalizerForeground {
			return ""
		}
	}
	// batch/v1 Jobs orphan their pods unless told otherwise, as in Kubernetes.
	if h.res.Group == batchv1.GroupName && h.res.Kind == "Job" {
		return metav1.DeletePropagationOrphan
	}
	return ""
}

// gracePeriod returns the grace period for a delete: only pods bound to a
// node and not yet finished wait for their agent.
func (h *resourceHandler) gracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if opts.GracePeriodSeconds != nil {
		return *opts.GracePeriodSeconds
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

func (h *resourceHandler) deleteNamespace(ctx context.Context, ns *corev1.Namespace, modRev int64, dry bool) (runtime.Object, bool, error) {
	if undeletableNamespaces[ns.Name] {
		return nil, false, apierrors.NewForbidden(h.res.GroupResource(), ns.Name, errors.New("this namespace may not be deleted"))
	}
	if ns.DeletionTimestamp != nil && len(ns.Spec.Finalizers) == 0 && len(ns.Finalizers) == 0 {
		if dry {
			return ns, true, nil
		}
		out, err := h.finishDelete(ctx, ns, modRev)
		return out, err == nil, err
	}
	if ns.DeletionTimestamp != nil {
		return ns, false, nil
	}
	next := ns.DeepCopy()
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	zero := int64(0)
	next.DeletionTimestamp, next.DeletionGracePeriodSeconds = &now, &zero
	next.Status.Phase = corev1.NamespaceTerminating
	if dry {
		return next, false, nil
	}
	out, err := h.writeRaw(ctx, next, modRev)
	return out, false, err
}

// writeRaw stores obj over modRev without the update strategy (deletion
// bookkeeping).
func (h *resourceHandler) writeRaw(ctx context.Context, obj runtime.Object, modRev int64) (runtime.Object, error) {
	m := objMeta(obj)
	stored, err := h.toStored(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	data, err := h.codec.encode(stored)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	rev, err := h.s.cfg.Store.Update(ctx, h.key(m.GetNamespace(), m.GetName()), data, modRev, h.res.TTL)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		return nil, toStatusError(err, h.res, m.GetName())
	}
	setRV(obj, rev)
	return obj, nil
}

// finishDelete removes the object from the store if it is still at modRev.
func (h *resourceHandler) finishDelete(ctx context.Context, cur runtime.Object, modRev int64) (runtime.Object, error) {
	m := objMeta(cur)
	var claims []store.Claim
	if h.alloc != nil {
		claims = h.alloc.release(cur)
	}
	prev, rev, err := h.s.cfg.Store.DeleteWithClaims(ctx, h.key(m.GetNamespace(), m.GetName()), modRev, claims)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		return nil, toStatusError(err, h.res, m.GetName())
	}
	prev.ModRevision = rev
	return h.decodeServed(prev)
}

// deleteCollection serves DELETE of a collection: every matching object is
// deleted as by a single DELETE.
func (h *resourceHandler) deleteCollection(req *request) error {
	if h.res.Namespaced && req.ri.Namespace == "" {
		return notFoundPath()
	}
	opts, err := h.deleteOptions(req)
	if err != nil {
		return err
	}
	dry, err := dryRun(req.query)
	if err != nil {
		return err
	}
	sel, err := h.parseSelection(req)
	if err != nil {
		return err
	}
	items, _, err := h.listObjects(req.ctx, sel, listOptions{})
	if err != nil {
		return toStatusError(err, h.res, "")
	}
	for _, it := range items {
		m := objMeta(it)
		_, _, err := h.deleteObject(req.ctx, m.GetNamespace(), m.GetName(), opts, dry)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess}
	choice, err := negotiate(req.r, h.s.codecs)
	if err != nil {
		return err
	}
	return h.s.writeEncoded(req.w, http.StatusOK, choice.info, schema.GroupVersion{Version: "v1"}, st)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
