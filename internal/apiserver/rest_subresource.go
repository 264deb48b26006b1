package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/store"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// serveScale serves the /scale subresource as autoscaling/v1 Scale.
func (h *resourceHandler) serveScale(req *request) error {
	switch req.ri.Verb {
	case "get":
		obj, _, err := h.getObject(req.ctx, req.ri.Namespace, req.ri.Name, 0)
		if err != nil {
			return err
		}
		return h.writeScale(req, http.StatusOK, h.scaleOf(obj))
	case "update", "patch":
		return h.updateScale(req)
	}
	return methodNotSupported(h.res, req.ri.Verb)
}

func (h *resourceHandler) scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m := objMeta(obj)
	spec, status, sel := h.res.Scale.Get(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: sel},
	}
}

func (h *resourceHandler) writeScale(req *request, code int, sc *autoscalingv1.Scale) error {
	choice, err := negotiate(req.r, h.s.codecs)
	if err != nil {
		return err
	}
	return h.s.writeEncoded(req.w, code, choice.info, autoscalingv1.SchemeGroupVersion, sc)
}

// updateScale changes the parent's replicas from a PUT or PATCH of Scale.
func (h *resourceHandler) updateScale(req *request) error {
	opts, err := h.writeOptions(req, "")
	if err != nil {
		return err
	}
	var pt types.PatchType
	if req.ri.Verb == "patch" {
		if pt, err = patchTypeOf(req.r); err != nil {
			return err
		}
		if pt == types.ApplyPatchType {
			return badRequest("server-side apply is not supported for the scale subresource")
		}
	}
	body, err := readBody(req.r)
	if err != nil {
		return err
	}
	opts.create = createNever
	out, _, err := h.updateObject(req.ctx, req.ri.Namespace, req.ri.Name, opts, func(cur runtime.Object) (runtime.Object, error) {
		sc, err := h.decodeScale(req, pt, body, h.scaleOf(cur))
		if err != nil {
			return nil, err
		}
		if sc.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), req.ri.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), sc.Spec.Replicas, "must be greater than or equal to 0")})
		}
		next := cur.DeepCopyObject()
		objMeta(next).SetResourceVersion(sc.ResourceVersion)
		h.res.Scale.Set(next, sc.Spec.Replicas)
		return next, nil
	})
	if err != nil {
		return err
	}
	return h.writeScale(req, http.StatusOK, h.scaleOf(out))
}

func (h *resourceHandler) decodeScale(req *request, pt types.PatchType, body []byte, cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	data := body
	if pt != "" {
		orig, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if data, err = applyPatch(pt, orig, body, &autoscalingv1.Scale{}); err != nil {
			return nil, err
		}
	}
	info, err := requestSerializer(req.r, h.s.codecs)
	if pt != "" || err != nil {
		info, _ = serializerFor(h.s.codecs, mediaJSON)
	}
	sc := &autoscalingv1.Scale{}
	if _, _, err := info.Serializer.Decode(data, &scaleGVK, sc); err != nil {
		return nil, badRequest("Scale in version \"v1\" cannot be handled as a Scale: %v", err)
	}
	if sc.Name != "" && sc.Name != cur.Name {
		return nil, badRequest("the name of the object (%s) does not match the name on the URL (%s)", sc.Name, cur.Name)
	}
	return sc, nil
}

// createBinding binds a pod to a node (pods/binding and bindings).
func (s *Server) createBinding(req *request, podName string) error {
	body, err := readBody(req.r)
	if err != nil {
		return err
	}
	info, err := requestSerializer(req.r, s.codecs)
	if err != nil {
		return err
	}
	b := &corev1.Binding{}
	gvk := corev1.SchemeGroupVersion.WithKind("Binding")
	if _, _, err := info.Serializer.Decode(body, &gvk, b); err != nil {
		return badRequest("Binding in version \"v1\" cannot be handled as a Binding: %v", err)
	}
	if podName == "" {
		podName = b.Name
	}
	if b.Name != podName {
		return badRequest("the name of the object (%s) does not match the name on the URL (%s)", b.Name, podName)
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return apierrors.NewInvalid(gvk.GroupKind(), b.Name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})})
	}
	if b.Target.Name == "" {
		return apierrors.NewInvalid(gvk.GroupKind(), b.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	pods := s.handlers[gvrKey("", "v1", "pods")]
	if err := pods.bind(req.ctx, req.ri.Namespace, b); err != nil {
		return err
	}
	return s.writeSuccess(req, http.StatusCreated)
}

func (h *resourceHandler) bind(ctx context.Context, ns string, b *corev1.Binding) error {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		kv, _, err := h.s.cfg.Store.Get(ctx, h.key(ns, b.Name), 0)
		if err != nil {
			return toStatusError(err, h.res, b.Name)
		}
		cur, err := h.decodeServed(kv)
		if err != nil {
			return err
		}
		pod := cur.(*corev1.Pod)
		if b.UID != "" && b.UID != pod.UID {
			return apierrors.NewConflict(h.res.GroupResource(), pod.Name, fmt.Errorf("the UID in the binding (%s) does not match the pod's (%s)", b.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return apierrors.NewConflict(h.res.GroupResource(), pod.Name, errors.New("pod is being deleted, cannot be assigned to a host"))
		}
		if pod.Spec.NodeName != "" {
			return apierrors.NewConflict(h.res.GroupResource(), pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
		_, err = h.writeRaw(ctx, pod, kv.ModRevision)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
	return apierrors.NewConflict(h.res.GroupResource(), b.Name, errors.New("too many concurrent updates"))
}

// setPodCondition bypasses the status split: binding sets spec and status
// at once, as Kubernetes' binding registry does.
func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	c.LastTransitionTime = metav1.NewTime(time.Now().Truncate(time.Second))
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// createEviction deletes a pod through the eviction subresource. Pod
// disruption budgets are not consulted yet.
func (h *resourceHandler) createEviction(req *request) error {
	body, err := readBody(req.r)
	if err != nil {
		return err
	}
	info, err := requestSerializer(req.r, h.s.codecs)
	if err != nil {
		return err
	}
	ev := &policyv1.Eviction{}
	gvk := policyv1.SchemeGroupVersion.WithKind("Eviction")
	if _, _, err := info.Serializer.Decode(body, &gvk, ev); err != nil {
		return badRequest("Eviction cannot be handled: %v", err)
	}
	if ev.Name != "" && ev.Name != req.ri.Name {
		return badRequest("name in URL does not match name in Eviction object")
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if _, _, err := h.deleteObject(req.ctx, req.ri.Namespace, req.ri.Name, opts, false); err != nil {
		return err
	}
	return h.s.writeSuccess(req, http.StatusCreated)
}

func (s *Server) writeSuccess(req *request, code int) error {
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: int32(code)}
	choice, err := negotiate(req.r, s.codecs)
	if err != nil {
		return err
	}
	return s.writeEncoded(req.w, code, choice.info, schema.GroupVersion{Version: "v1"}, st)
}
