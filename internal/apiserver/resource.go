package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/registry"
)

// resourceHandler serves one resource at one version.
type resourceHandler struct {
	s   *Server
	res *registry.Resource
	// codec reads and writes the stored form (which differs from res for
	// converted versions).
	codec  storageCodec
	cache  *cacher
	fields map[string]bool
	fm     *fieldManagers
	// alloc, when set, allocates what objects hold besides their key.
	alloc allocator
}

func (s *Server) newResourceHandler(res *registry.Resource) (*resourceHandler, error) {
	h := &resourceHandler{s: s, res: res, fields: map[string]bool{"metadata.name": true}}
	if res.Namespaced {
		h.fields["metadata.namespace"] = true
	}
	if res.NewList == nil {
		return h, nil // a create-only endpoint such as bindings
	}
	h.codec = storageCodec{gvk: res.GVK(), new: res.New}
	if res.ToStorage != nil {
		stored, err := s.storedAs(res)
		if err != nil {
			return nil, err
		}
		h.codec = stored.codec
	}
	if res.Fields != nil {
		for f := range res.Fields(res.New()) {
			h.fields[f] = true
		}
	}
	prefix := res.StoragePrefix()
	if c, ok := s.cachers[prefix]; ok {
		h.cache = c
	} else {
		h.cache = newCacher(s.base, prefix, s.cfg.Store, h.codec.decode, s.log)
		s.cachers[prefix] = h.cache
	}
	h.fm = newFieldManagers(s, res)
	return h, nil
}

// storedAs finds the handler of the stored version of a converted resource.
func (s *Server) storedAs(res *registry.Resource) (*resourceHandler, error) {
	g := res.StorageGroup
	if g == "core" {
		g = ""
	}
	name := res.Resource
	if res.StorageResource != "" {
		name = res.StorageResource
	}
	for _, h := range s.handlers {
		if h.res.Group == g && h.res.Resource == name && h.res.ToStorage == nil {
			return h, nil
		}
	}
	return nil, fmt.Errorf("apiserver: %s: stored resource %s/%s not served", res.GVR(), g, name)
}

// request is one API call on a resource.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	ctx   context.Context
	ri    requestInfo
	h     *resourceHandler
	query url.Values
	// warnings go out as Warning headers.
	warnings []string
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	ri, ok := parseResourcePath(r)
	if !ok {
		s.writeError(w, r, notFoundPath())
		return
	}
	h := s.handlers[gvrKey(ri.Group, ri.Version, ri.Resource)]
	if h == nil {
		s.writeError(w, r, notFoundPath())
		return
	}
	if h.res.Namespaced != (ri.Namespace != "") && !(h.res.Namespaced && ri.Name == "" && (ri.Verb == "list" || ri.Verb == "watch")) {
		s.writeError(w, r, notFoundPath())
		return
	}
	req := &request{w: w, r: r, ctx: r.Context(), ri: ri, h: h, query: r.URL.Query()}
	setRequestLabels(r, ri)
	if err := h.serve(req); err != nil {
		req.flushWarnings()
		s.writeError(w, r, toStatusError(err, h.res, ri.Name))
	}
}

func (h *resourceHandler) serve(req *request) error {
	ri := req.ri
	if ri.Subresource != "" {
		return h.serveSubresource(req)
	}
	if h.res.NewList == nil {
		if ri.Verb == "create" && h.res.Kind == "Binding" {
			return h.s.createBinding(req, "")
		}
		return methodNotSupported(h.res, ri.Verb)
	}
	if !contains(h.res.VerbsOf(), ri.Verb) {
		return methodNotSupported(h.res, ri.Verb)
	}
	switch ri.Verb {
	case "get":
		return h.get(req)
	case "list":
		return h.list(req)
	case "watch":
		return h.watch(req)
	case "create":
		if ri.Name != "" {
			return methodNotSupported(h.res, "create")
		}
		return h.create(req)
	case "update":
		return h.update(req, "")
	case "patch":
		return h.patch(req, "")
	case "delete":
		return h.delete(req)
	case "deletecollection":
		return h.deleteCollection(req)
	}
	return methodNotSupported(h.res, ri.Verb)
}

func (h *resourceHandler) serveSubresource(req *request) error {
	ri := req.ri
	switch {
	case ri.Subresource == "status" && h.res.Status:
		switch ri.Verb {
		case "get":
			return h.get(req)
		case "update":
			return h.update(req, "status")
		case "patch":
			return h.patch(req, "status")
		}
	case ri.Subresource == "scale" && h.res.Scale != nil:
		return h.serveScale(req)
	case ri.Subresource == "binding" && h.res.Kind == "Pod" && ri.Verb == "create":
		return h.s.createBinding(req, ri.Name)
	case ri.Subresource == "log" && h.res.Kind == "Pod" && h.res.Group == "" && ri.Verb == "get":
		return h.servePodLogs(req)
	case ri.Subresource == "eviction" && h.res.Kind == "Pod" && ri.Verb == "create":
		return h.createEviction(req)
	case ri.Subresource == "finalize" && h.res.Kind == "Namespace" && ri.Verb == "update":
		return h.update(req, "finalize")
	}
	return notFoundPath()
}

// key returns the store key of an object.
func (h *resourceHandler) key(namespace, name string) string {
	if h.res.Namespaced {
		return h.res.StoragePrefix() + namespace + "/" + name
	}
	return h.res.StoragePrefix() + name
}

// prefix returns the key prefix for a list in namespace ("" for all).
func (h *resourceHandler) prefix(namespace string) string {
	if h.res.Namespaced && namespace != "" {
		return h.res.StoragePrefix() + namespace + "/"
	}
	return h.res.StoragePrefix()
}

// toServed converts a stored object to the served version (a copy when
// converted, else the same object).
func (h *resourceHandler) toServed(obj runtime.Object) (runtime.Object, error) {
	if h.res.FromStorage == nil {
		return obj, nil
	}
	out, err := h.res.FromStorage(obj)
	if err != nil {
		return nil, err
	}
	out.GetObjectKind().SetGroupVersionKind(h.res.GVK())
	return out, nil
}

func (h *resourceHandler) toStored(obj runtime.Object) (runtime.Object, error) {
	if h.res.ToStorage == nil {
		return obj, nil
	}
	return h.res.ToStorage(obj)
}

// readBody reads a request body up to MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, badRequest("unable to read request body: %v", err)
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return b, nil
}

func tooLarge() error {
	return statusError(http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
		fmt.Sprintf("Request entity too large: limit is %d", MaxBodyBytes))
}

// decodeBody decodes a create or update body into the served type. It
// honours fieldValidation (Strict, Warn, Ignore).
func (h *resourceHandler) decodeBody(req *request) (runtime.Object, error) {
	body, err := readBody(req.r)
	if err != nil {
		return nil, err
	}
	info, err := requestSerializer(req.r, h.s.codecs)
	if err != nil {
		return nil, err
	}
	return h.decodeWith(req, info, body)
}

func (h *resourceHandler) decodeWith(req *request, info runtime.SerializerInfo, body []byte) (runtime.Object, error) {
	validation, err := fieldValidation(req.query)
	if err != nil {
		return nil, err
	}
	dec := info.Serializer
	if validation != metav1.FieldValidationIgnore && info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	want := h.res.GVK()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("the body of the request was empty")
	}
	obj, gvk, err := dec.Decode(body, &want, h.res.New())
	if err != nil && runtime.IsStrictDecodingError(err) && obj != nil {
		if validation == metav1.FieldValidationStrict {
			return nil, badRequest("%s", strictMessage(err))
		}
		if validation == metav1.FieldValidationWarn {
			sde, _ := runtime.AsStrictDecodingError(err)
			for _, e := range sde.Errors() {
				req.warnings = append(req.warnings, e.Error())
			}
		}
		err = nil
	}
	if err != nil {
		return nil, badRequest("%s in version %q cannot be handled as a %s: %v", want.Kind, want.Version, want.Kind, err)
	}
	if gvk.GroupVersion() != want.GroupVersion() {
		return nil, badRequest("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), want.GroupVersion())
	}
	if gvk.Kind != want.Kind {
		return nil, badRequest("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, want.Kind)
	}
	obj.GetObjectKind().SetGroupVersionKind(want)
	return obj, nil
}

func strictMessage(err error) string {
	sde, _ := runtime.AsStrictDecodingError(err)
	var msgs []string
	for _, e := range sde.Errors() {
		msgs = append(msgs, e.Error())
	}
	return "strict decoding error: " + strings.Join(msgs, ", ")
}

func fieldValidation(q url.Values) (string, error) {
	v := q.Get("fieldValidation")
	switch v {
	case "":
		return metav1.FieldValidationWarn, nil
	case metav1.FieldValidationIgnore, metav1.FieldValidationWarn, metav1.FieldValidationStrict:
		return v, nil
	}
	return "", badRequest("fieldValidation must be one of Ignore, Warn or Strict, not %q", v)
}

// dryRun reads the dryRun parameter: only "All" is valid.
func dryRun(q url.Values) (bool, error) {
	vals := q["dryRun"]
	if len(vals) == 0 {
		return false, nil
	}
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun value: %q (supported values: All)", v))
		}
	}
	return true, nil
}

func (req *request) flushWarnings() {
	for _, w := range req.warnings {
		req.w.Header().Add("Warning", fmt.Sprintf("299 - %q", w))
	}
	req.warnings = nil
}

// respond writes obj (served version) in the negotiated form.
func (h *resourceHandler) respond(req *request, code int, obj runtime.Object) error {
	choice, err := negotiate(req.r, h.s.codecs, outputTable, outputPartialMetadata)
	if err != nil {
		return err
	}
	out, gv, err := h.convertOutput(req, choice, obj)
	if err != nil {
		return err
	}
	req.flushWarnings()
	return h.s.writeEncoded(req.w, code, choice.info, gv, out)
}

func (s *Server) writeEncoded(w http.ResponseWriter, code int, info runtime.SerializerInfo, gv schema.GroupVersion, obj runtime.Object) error {
	var buf bytes.Buffer
	enc := s.codecs.EncoderForVersion(info.Serializer, gv)
	if err := enc.Encode(obj, &buf); err != nil {
		return apierrors.NewInternalError(err)
	}
	w.Header().Set("Content-Type", info.MediaType)
	w.WriteHeader(code)
	_, err := w.Write(buf.Bytes())
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Debug("write response", "err", err)
	}
	return nil
}
