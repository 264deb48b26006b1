package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// patch serves PATCH of an object or its status.
func (h *resourceHandler) patch(req *request, sub string) error {
	pt, err := patchTypeOf(req.r)
	if err != nil {
		return err
	}
	body, err := readBody(req.r)
	if err != nil {
		return err
	}
	opts, err := h.writeOptions(req, sub)
	if err != nil {
		return err
	}
	var fn updateFunc
	if pt == types.ApplyPatchType {
		fn, err = h.applyFunc(req, body, &opts)
	} else {
		opts.create = createNever
		fn = h.patchFunc(req, pt, body)
	}
	if err != nil {
		return err
	}
	out, created, err := h.updateObject(req.ctx, req.ri.Namespace, req.ri.Name, opts, fn)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return h.respond(req, code, out)
}

func patchTypeOf(r *http.Request) (types.PatchType, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch pt := types.PatchType(ct); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyPatchType:
		return pt, nil
	}
	return "", statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s",
			types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyPatchType))
}

// patchFunc applies a JSON, merge or strategic merge patch to the current
// object's JSON.
func (h *resourceHandler) patchFunc(req *request, pt types.PatchType, patch []byte) updateFunc {
	explicitRV := patchSetsResourceVersion(pt, patch)
	return func(cur runtime.Object) (runtime.Object, error) {
		cur = cur.DeepCopyObject()
		cur.GetObjectKind().SetGroupVersionKind(h.res.GVK())
		orig, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(pt, orig, patch, h.res.New())
		if err != nil {
			return nil, err
		}
		info, _ := serializerFor(h.s.codecs, mediaJSON)
		obj, err := h.decodeWith(req, info, patched)
		if err != nil {
			return nil, err
		}
		if !explicitRV {
			// The resourceVersion came from the object patched, not from
			// the client: a race with another writer is retried, not
			// reported as a conflict.
			objMeta(obj).SetResourceVersion("")
		}
		return obj, nil
	}
}

// patchSetsResourceVersion says the patch itself names a resourceVersion,
// which makes it a precondition.
func patchSetsResourceVersion(pt types.PatchType, patch []byte) bool {
	if pt == types.JSONPatchType {
		var ops []struct {
			Path string `json:"path"`
		}
		if json.Unmarshal(patch, &ops) != nil {
			return false
		}
		for _, op := range ops {
			if op.Path == "/metadata/resourceVersion" {
				return true
			}
		}
		return false
	}
	var m struct {
		Metadata struct {
			ResourceVersion *string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	return json.Unmarshal(patch, &m) == nil && m.Metadata.ResourceVersion != nil
}

func applyPatch(pt types.PatchType, orig, patch []byte, schema runtime.Object) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, badRequest("error decoding patch: %v", err)
		}
		out, err := p.Apply(orig)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schemaGR, "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		if !json.Valid(patch) {
			return nil, badRequest("error decoding patch: invalid JSON")
		}
		out, err := jsonpatch.MergePatch(orig, patch)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		return out, nil
	default:
		var m map[string]interface{}
		if err := json.Unmarshal(patch, &m); err != nil {
			return nil, badRequest("error decoding patch: %v", err)
		}
		out, err := strategicpatch.StrategicMergePatch(orig, patch, schema)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schemaGR, "", err.Error(), 0, false)
		}
		return out, nil
	}
}

// applyFunc merges a server-side apply configuration for its manager.
func (h *resourceHandler) applyFunc(req *request, body []byte, opts *writeOptions) (updateFunc, error) {
	manager := req.query.Get("fieldManager")
	if manager == "" {
		return nil, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("PatchOptions").GroupKind(), "",
			fieldRequired("fieldManager", "is required for apply patch"))
	}
	force := isTrue(req.query.Get("force"))
	js, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, badRequest("error decoding YAML: %v", err)
	}
	applied := &unstructured.Unstructured{}
	if err := applied.UnmarshalJSON(js); err != nil {
		return nil, badRequest("error decoding YAML: %v", err)
	}
	if gvk := applied.GroupVersionKind(); gvk != h.res.GVK() {
		return nil, badRequest("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), h.res.GroupVersion())
	}
	if applied.GetName() != req.ri.Name {
		return nil, badRequest("the name of the object (%s) does not match the name on the URL (%s)", applied.GetName(), req.ri.Name)
	}
	if h.res.Namespaced && applied.GetNamespace() != "" && applied.GetNamespace() != req.ri.Namespace {
		return nil, badRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	opts.applied, opts.create = true, createAlways
	return func(cur runtime.Object) (runtime.Object, error) {
		live := cur
		if live == nil {
			live = h.res.New()
			m := objMeta(live)
			m.SetName(req.ri.Name)
			m.SetNamespace(req.ri.Namespace)
		} else {
			live = live.DeepCopyObject()
		}
		obj, err := h.fm.apply(live, applied.DeepCopy(), manager, opts.sub, force)
		if err == nil && applied.GetResourceVersion() == "" {
			objMeta(obj).SetResourceVersion("") // not a precondition: retry races
		}
		return obj, err
	}, nil
}
