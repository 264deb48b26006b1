package apiserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/store"
)

// get serves GET of one object (or its status).
func (h *resourceHandler) get(req *request) error {
	rev, err := readRevision(req, true)
	if err != nil {
		return err
	}
	obj, _, err := h.getObject(req.ctx, req.ri.Namespace, req.ri.Name, rev)
	if err != nil {
		return err
	}
	return h.respond(req, http.StatusOK, obj)
}

// getObject reads one object in its served version with the stored
// object's mod revision.
func (h *resourceHandler) getObject(ctx context.Context, ns, name string, rev int64) (runtime.Object, int64, error) {
	kv, _, err := h.s.cfg.Store.Get(ctx, h.key(ns, name), rev)
	if err != nil {
		return nil, 0, toStatusError(err, h.res, name)
	}
	obj, err := h.codec.decode(kv)
	if err != nil {
		return nil, 0, err
	}
	served, err := h.toServed(obj)
	return served, kv.ModRevision, err
}

// readRevision reads resourceVersion and resourceVersionMatch for a get or
// list: 0 means the newest state.
func readRevision(req *request, single bool) (int64, error) {
	rv := req.query.Get("resourceVersion")
	match := req.query.Get("resourceVersionMatch")
	if rv == "" {
		if match != "" {
			return 0, badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("invalid resource version %q", rv)
	}
	switch metav1.ResourceVersionMatch(match) {
	case "", metav1.ResourceVersionMatchNotOlderThan:
		return 0, nil
	case metav1.ResourceVersionMatchExact:
		if n == 0 {
			return 0, badRequest("resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"")
		}
		if single {
			return 0, badRequest("resourceVersionMatch is not supported for get")
		}
		return n, nil
	}
	return 0, badRequest("resourceVersionMatch must be one of Exact or NotOlderThan, not %q", match)
}

// listOptions is a parsed list request.
type listOptions struct {
	rev      int64
	limit    int64
	startKey string
}

type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	Start      string `json:"start"`
}

func (h *resourceHandler) parseListOptions(req *request) (listOptions, error) {
	var o listOptions
	if l := req.query.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return o, badRequest("invalid limit %q", l)
		}
		o.limit = n
	}
	cont := req.query.Get("continue")
	if cont == "" {
		rev, err := readRevision(req, false)
		o.rev = rev
		return o, err
	}
	if rv := req.query.Get("resourceVersion"); rv != "" && rv != "0" {
		return o, badRequest("specifying resource version is not allowed when using continue")
	}
	raw, err := base64.RawURLEncoding.DecodeString(cont)
	var tok continueToken
	if err == nil {
		err = json.Unmarshal(raw, &tok)
	}
	if err != nil || tok.APIVersion != "meta.k8s.io/v1" || tok.Revision <= 0 {
		return o, badRequest("continue key is not valid: %q", cont)
	}
	o.rev, o.startKey = tok.Revision, h.res.StoragePrefix()+tok.Start
	return o, nil
}

func encodeContinue(rev int64, key, prefix string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", Revision: rev, Start: key[len(prefix):] + "\x00"})
	return base64.RawURLEncoding.EncodeToString(b)
}

// list serves GET of a collection.
func (h *resourceHandler) list(req *request) error {
	sel, err := h.parseSelection(req)
	if err != nil {
		return err
	}
	opts, err := h.parseListOptions(req)
	if err != nil {
		return err
	}
	choice, err := negotiate(req.r, h.s.codecs, outputTable, outputPartialMetadataList)
	if err != nil {
		return err
	}
	if streamable(choice) && sel.name == "" {
		req.flushWarnings()
		if err := h.writeList(req.ctx, req.w, choice, sel, opts); err != nil {
			return h.listError(err, opts)
		}
		return nil
	}
	if choice.output == outputTable && sel.name == "" {
		t, err := h.listTable(req, sel, opts)
		if err != nil {
			return h.listError(err, opts)
		}
		req.flushWarnings()
		return h.s.writeEncoded(req.w, http.StatusOK, choice.info, metaGV, t)
	}
	items, lm, err := h.listObjects(req.ctx, sel, opts)
	if err != nil {
		return h.listError(err, opts)
	}
	out, gv, err := h.convertListOutput(req, choice, items, lm)
	if err != nil {
		return err
	}
	req.flushWarnings()
	return h.s.writeEncoded(req.w, http.StatusOK, choice.info, gv, out)
}

// listObjects reads the matching objects (served version), honouring limit
// and continue, all at one revision.
func (h *resourceHandler) listObjects(ctx context.Context, sel *objSelection, o listOptions) ([]runtime.Object, metav1.ListMeta, error) {
	if sel.name != "" && (sel.namespace != "" || !h.res.Namespaced) && o.startKey == "" {
		return h.listByName(ctx, sel, o.rev)
	}
	items := []runtime.Object{}
	lm, err := h.scan(ctx, sel, o, func(kv *store.KV) (bool, error) {
		obj, err := h.decodeServed(kv)
		if err != nil || !h.matches(sel, obj) {
			return false, err
		}
		items = append(items, obj)
		return true, nil
	})
	return items, lm, err
}

// scan walks the stored objects a list selects, page by page at one
// revision, calling visit for each; visit says whether the object counted
// as an item (it matched the selectors). scan stops at the limit and
// returns the list's metadata (revision, continue token, remaining count).
func (h *resourceHandler) scan(ctx context.Context, sel *objSelection, o listOptions, visit func(*store.KV) (bool, error)) (metav1.ListMeta, error) {
	var lm metav1.ListMeta
	prefix := h.prefix(sel.namespace)
	start, rev := o.startKey, o.rev
	var n int64
	for {
		page, err := h.s.cfg.Store.List(ctx, prefix, store.ListOptions{Revision: rev, Limit: pageSize(o.limit, int(n)), StartKey: start})
		if err != nil {
			return lm, err
		}
		if rev == 0 {
			// Later pages read at the first page's revision; etcd's
			// header carries the newest revision, not the one read at.
			rev = page.Revision
		}
		lm.ResourceVersion = strconv.FormatInt(rev, 10)
		for i, kv := range page.KVs {
			matched, err := visit(kv)
			if err != nil {
				return lm, err
			}
			if !matched {
				continue
			}
			n++
			if o.limit > 0 && n == o.limit && (i < len(page.KVs)-1 || page.More) {
				lm.Continue = encodeContinue(rev, kv.Key, h.res.StoragePrefix())
				if sel.trivial() {
					left := int64(len(page.KVs)-i-1) + page.Remaining
					lm.RemainingItemCount = &left
				}
				return lm, nil
			}
		}
		if !page.More || len(page.KVs) == 0 {
			return lm, nil
		}
		start = page.KVs[len(page.KVs)-1].Key + "\x00"
	}
}

// pageSize asks the store for what is still missing, at least 100 keys
// when filtering so selective lists do not crawl.
func pageSize(limit int64, have int) int64 {
	if limit <= 0 {
		return 0
	}
	n := limit - int64(have)
	if n < 100 {
		n = 100
	}
	return n
}

func (h *resourceHandler) listByName(ctx context.Context, sel *objSelection, rev int64) ([]runtime.Object, metav1.ListMeta, error) {
	kv, storeRev, err := h.s.cfg.Store.Get(ctx, h.key(sel.namespace, sel.name), rev)
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(storeRev, 10)}
	if rev > 0 {
		lm.ResourceVersion = strconv.FormatInt(rev, 10)
	}
	items := []runtime.Object{}
	if errors.Is(err, store.ErrNotFound) {
		return items, lm, nil
	}
	if err != nil {
		return nil, lm, err
	}
	obj, err := h.decodeServed(kv)
	if err != nil {
		return nil, lm, err
	}
	if h.matches(sel, obj) {
		items = append(items, obj)
	}
	return items, lm, nil
}

func (h *resourceHandler) decodeServed(kv *store.KV) (runtime.Object, error) {
	obj, err := h.codec.decode(kv)
	if err != nil {
		return nil, err
	}
	return h.toServed(obj)
}

// listError maps a list failure; a continue token past the compacted
// history gets 410 Expired.
func (h *resourceHandler) listError(err error, o listOptions) error {
	if errors.Is(err, store.ErrCompacted) && o.startKey != "" {
		return apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
	}
	return toStatusError(err, h.res, "")
}
