package apiserver

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/store"
)

// bookmarkInterval is how often a watcher that allows bookmarks hears the
// newest revision when nothing it watches changes.
const bookmarkInterval = 30 * time.Second

// initialEventsEnd marks the bookmark that ends the initial events of a
// sendInitialEvents watch.
const initialEventsEnd = "k8s.io/initial-events-end"

type watchOptions struct {
	from          int64
	initial       bool
	bookmarks     bool
	initialMarker bool
	timeout       time.Duration
}

func parseWatchOptions(req *request) (watchOptions, error) {
	q := req.query
	o := watchOptions{bookmarks: isTrue(q.Get("allowWatchBookmarks"))}
	rv := q.Get("resourceVersion")
	if rv != "" && rv != "0" {
		n, err := strconv.ParseInt(rv, 10, 64)
		if err != nil || n < 0 {
			return o, badRequest("invalid resource version %q", rv)
		}
		o.from = n
	}
	switch sie := q.Get("sendInitialEvents"); sie {
	case "":
		o.initial = rv == "" || rv == "0"
	case "true", "false":
		if metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")) != metav1.ResourceVersionMatchNotOlderThan {
			return o, badRequest("sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan")
		}
		o.initial = sie == "true"
		o.initialMarker = o.initial && o.bookmarks
	default:
		return o, badRequest("invalid sendInitialEvents %q", sie)
	}
	o.timeout = time.Duration(1800+rand.IntN(1800)) * time.Second
	if t := q.Get("timeoutSeconds"); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 {
			return o, badRequest("invalid timeoutSeconds %q", t)
		}
		if n > 0 {
			o.timeout = time.Duration(n) * time.Second
		}
	}
	return o, nil
}

// watchStream writes watch events to one client.
type watchStream struct {
	h       *resourceHandler
	req     *request
	sel     *objSelection
	choice  mediaChoice
	enc     runtime.Encoder
	stream  runtime.Encoder
	frame   io.Writer
	flusher http.Flusher
	// lastRev is the newest revision the client has seen or skipped.
	lastRev int64
	columns bool
	// shareEnc says encodings can be shared between watchers (no
	// conversion, plain objects).
	shareEnc bool
	encKey   string
}

func (h *resourceHandler) watch(req *request) error {
	sel, err := h.parseSelection(req)
	if err != nil {
		return err
	}
	o, err := parseWatchOptions(req)
	if err != nil {
		return err
	}
	choice, err := negotiate(req.r, h.s.codecs, outputTable, outputPartialMetadata)
	if err != nil {
		return err
	}
	if choice.info.StreamSerializer == nil {
		return statusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable, "no streaming support for "+choice.info.MediaType)
	}
	ctx, cancel := context.WithTimeout(req.ctx, o.timeout)
	defer cancel()
	if err := h.cache.start(ctx); err != nil {
		return toStatusError(err, h.res, "")
	}
	ws := h.newWatchStream(req, sel, choice, o.from)
	if o.initial {
		rev, err := ws.sendInitial(ctx)
		if err != nil {
			st := toStatusError(err, h.res, "").Status()
			_ = ws.writeEvent(watch.Error, &st, nil)
			return nil
		}
		o.from, ws.lastRev = rev, rev
	}
	events, stop := h.subscribe(ctx, o.from)
	defer stop()
	if o.initialMarker {
		_ = ws.bookmark(o.from, true)
	}
	ws.flusher.Flush()
	ws.loop(ctx, events, o.bookmarks)
	return nil
}

// sendInitial streams an ADDED event for every selected object and
// returns the revision the objects were read at.
func (ws *watchStream) sendInitial(ctx context.Context) (int64, error) {
	h := ws.h
	lm, err := h.scan(ctx, ws.sel, listOptions{}, func(kv *store.KV) (bool, error) {
		obj, err := h.decodeServed(kv)
		if err != nil || !h.matches(ws.sel, obj) {
			return false, err
		}
		return true, ws.send(watch.Added, obj, nil)
	})
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(lm.ResourceVersion, 10, 64)
}

// subscribe returns the events after from: from the watch cache when its
// history reaches back that far, else from a store watch of their own.
func (h *resourceHandler) subscribe(ctx context.Context, from int64) (<-chan *cacheEvent, func()) {
	if w, ok, err := h.cache.watch(ctx, from); err == nil && ok {
		return w.ch, func() { h.cache.stop(w) }
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *cacheEvent, 100)
	go func() {
		defer close(out)
		for ev := range h.s.cfg.Store.Watch(ctx, h.res.StoragePrefix(), from) {
			ce := h.storeEvent(ev)
			if ce == nil {
				continue
			}
			select {
			case out <- ce:
			case <-ctx.Done():
				return
			}
			if ce.Err != nil {
				return
			}
		}
	}()
	return out, cancel
}

func (h *resourceHandler) storeEvent(ev store.Event) *cacheEvent {
	switch ev.Type {
	case store.EventProgress:
		return nil
	case store.EventError:
		return &cacheEvent{Type: watch.Error, Err: ev.Err}
	}
	ce := &cacheEvent{Rev: ev.Revision, Type: watch.Modified}
	var err error
	if ce.Object, err = h.codec.decode(ev.KV); err != nil {
		return &cacheEvent{Type: watch.Error, Err: err}
	}
	switch {
	case ev.Type == store.EventDelete:
		ce.Type = watch.Deleted
	case ev.Created:
		ce.Type = watch.Added
	case ev.Prev != nil:
		if ce.Prev, err = h.codec.decode(ev.Prev); err != nil {
			return &cacheEvent{Type: watch.Error, Err: err}
		}
	}
	return ce
}

func (h *resourceHandler) newWatchStream(req *request, sel *objSelection, choice mediaChoice, from int64) *watchStream {
	w := req.w
	ct := choice.info.MediaType
	if ct == mediaProtobuf {
		ct += ";stream=watch"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Transfer-Encoding", "chunked")
	req.flushWarnings()
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher == nil {
		flusher = noFlush{}
	}
	ws := &watchStream{
		h: h, req: req, sel: sel, choice: choice, flusher: flusher, lastRev: from, columns: true,
		enc:    h.s.codecs.EncoderForVersion(choice.info.Serializer, h.res.GroupVersion()),
		stream: choice.info.StreamSerializer.Serializer,
		frame:  choice.info.StreamSerializer.Framer.NewFrameWriter(w),
	}
	ws.shareEnc = choice.output == outputObject && h.res.FromStorage == nil
	ws.encKey = choice.info.MediaType
	return ws
}

type noFlush struct{}

func (noFlush) Flush() {}

func (ws *watchStream) loop(ctx context.Context, events <-chan *cacheEvent, bookmarks bool) {
	var tick <-chan time.Time
	if bookmarks && ws.choice.output != outputTable {
		t := time.NewTicker(bookmarkInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			rev := ws.h.cache.revision()
			if len(events) == 0 && rev > ws.lastRev {
				ws.lastRev = rev
			}
			if ws.bookmark(ws.lastRev, false) != nil {
				return
			}
			ws.flusher.Flush()
		case ev, ok := <-events:
			if !ok {
				return
			}
			if err := ws.handle(ev); err != nil {
				return
			}
			if len(events) == 0 {
				ws.flusher.Flush()
			}
		}
	}
}

func (ws *watchStream) handle(ev *cacheEvent) error {
	if ev.Err != nil {
		st := toStatusError(ev.Err, ws.h.res, "").Status()
		if st.Reason == metav1.StatusReasonExpired {
			st.Message = fmt.Sprintf("too old resource version: %d", ws.lastRev)
		}
		ws.writeEvent(watch.Error, &st, nil)
		return ev.Err
	}
	if ev.Rev > ws.lastRev {
		ws.lastRev = ev.Rev
	}
	typ, obj, ok, err := ws.filter(ev)
	if err != nil || !ok {
		return err
	}
	if typ == ev.Type && ws.shareEnc {
		return ws.writeShared(ev)
	}
	return ws.send(typ, obj, nil)
}

// filter applies the selection, turning modifications that enter or leave
// it into ADDED and DELETED as Kubernetes does.
func (ws *watchStream) filter(ev *cacheEvent) (watch.EventType, runtime.Object, bool, error) {
	cur, err := ws.h.toServed(ev.Object)
	if err != nil {
		return "", nil, false, err
	}
	curMatch := ws.h.matches(ws.sel, cur)
	if ev.Type != watch.Modified {
		return ev.Type, cur, curMatch, nil
	}
	prevMatch := curMatch
	if ev.Prev != nil && !(ws.sel.trivial() && ws.sel.namespace == "") {
		prev, err := ws.h.toServed(ev.Prev)
		if err != nil {
			return "", nil, false, err
		}
		prevMatch = ws.h.matches(ws.sel, prev)
	}
	switch {
	case curMatch && prevMatch:
		return watch.Modified, cur, true, nil
	case curMatch:
		return watch.Added, cur, true, nil
	case prevMatch:
		return watch.Deleted, cur, true, nil
	}
	return "", nil, false, nil
}

func (ws *watchStream) writeShared(ev *cacheEvent) error {
	raw, err := ev.encoded(ws.encKey, func(obj runtime.Object) ([]byte, error) {
		return runtime.Encode(ws.enc, obj)
	})
	if err != nil {
		return err
	}
	return ws.writeEvent(ev.Type, nil, raw)
}

// send converts obj for the client and writes it.
func (ws *watchStream) send(typ watch.EventType, obj runtime.Object, _ []byte) error {
	var out runtime.Object = obj
	enc := ws.enc
	switch ws.choice.output {
	case outputTable:
		t, err := ws.h.table(ws.req, []runtime.Object{obj}, ws.columns)
		if err != nil {
			return err
		}
		ws.columns = false
		t.ResourceVersion = objMeta(obj).GetResourceVersion()
		out, enc = t, ws.h.s.codecs.EncoderForVersion(ws.choice.info.Serializer, metaGV)
	case outputPartialMetadata:
		out, enc = partialMetadata(obj, ws.choice.version), ws.h.s.codecs.EncoderForVersion(ws.choice.info.Serializer, metaGV)
	default:
		out = obj.DeepCopyObject()
	}
	raw, err := runtime.Encode(enc, out)
	if err != nil {
		return err
	}
	return ws.writeEvent(typ, nil, raw)
}

func (ws *watchStream) bookmark(rev int64, initialEnd bool) error {
	var obj runtime.Object
	if ws.choice.output == outputPartialMetadata {
		obj = &metav1.PartialObjectMetadata{}
	} else {
		obj = ws.h.res.New()
	}
	m := objMeta(obj)
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEnd {
		m.SetAnnotations(map[string]string{initialEventsEnd: "true"})
	}
	return ws.send(watch.Bookmark, obj, nil)
}

// writeEvent writes one framed WatchEvent; obj is a Status for errors,
// raw an encoded object otherwise.
func (ws *watchStream) writeEvent(typ watch.EventType, status *metav1.Status, raw []byte) error {
	if status != nil {
		status.Kind, status.APIVersion = "Status", "v1"
		b, err := runtime.Encode(ws.h.s.codecs.EncoderForVersion(ws.choice.info.Serializer, metaGV), status)
		if err != nil {
			return err
		}
		raw = b
	}
	ev := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: raw}}
	if err := ws.stream.Encode(ev, ws.frame); err != nil {
		return apierrors.NewInternalError(err)
	}
	return nil
}
