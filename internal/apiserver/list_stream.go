package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/store"
)

// Lists of full objects in JSON or protobuf are written item by item: only
// the encoded items, never all decoded objects, are held at once.

// streamable says the list can be written by writeJSONList or
// writeProtoList.
func streamable(choice mediaChoice) bool {
	return choice.output == outputObject && (choice.info.MediaType == mediaJSON || choice.info.MediaType == mediaProtobuf)
}

func (h *resourceHandler) writeList(ctx context.Context, w http.ResponseWriter, choice mediaChoice, sel *objSelection, o listOptions) error {
	if choice.info.MediaType == mediaProtobuf {
		return h.writeProtoList(ctx, w, sel, o)
	}
	return h.writeJSONList(ctx, w, sel, o)
}

// writeJSONList streams {"kind":...,"items":[...],"metadata":{...}}: the
// list metadata is only known at the end, and JSON objects are unordered.
func (h *resourceHandler) writeJSONList(ctx context.Context, w http.ResponseWriter, sel *objSelection, o listOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	begin := func() {
		w.Header().Set("Content-Type", mediaJSON)
		w.WriteHeader(http.StatusOK)
		bw.WriteString(`{"kind":"` + h.res.Kind + `List","apiVersion":"` + h.res.GroupVersion().String() + `","items":[`)
	}
	lm, err := h.scan(ctx, sel, o, func(kv *store.KV) (bool, error) {
		obj, err := h.decodeServed(kv)
		if err != nil || !h.matches(sel, obj) {
			return false, err
		}
		obj.GetObjectKind().SetGroupVersionKind(emptyGVK)
		b, err := json.Marshal(obj)
		if err != nil {
			return false, err
		}
		if n == 0 {
			begin()
		} else {
			bw.WriteByte(',')
		}
		n++
		_, err = bw.Write(b)
		return true, err
	})
	if err != nil {
		if n > 0 {
			return nil // the status line is gone; the client sees a truncated body
		}
		return err
	}
	if n == 0 {
		begin()
	}
	meta, _ := json.Marshal(lm)
	bw.WriteString(`],"metadata":`)
	bw.Write(meta)
	bw.WriteString("}\n")
	return bw.Flush()
}

// writeProtoList writes the list in Kubernetes' protobuf envelope. The list
// message is field 1 ListMeta and repeated field 2 items, for every kind.
func (h *resourceHandler) writeProtoList(ctx context.Context, w http.ResponseWriter, sel *objSelection, o listOptions) error {
	var items [][]byte
	size := 0
	lm, err := h.scan(ctx, sel, o, func(kv *store.KV) (bool, error) {
		obj, err := h.decodeServed(kv)
		if err != nil || !h.matches(sel, obj) {
			return false, err
		}
		b, err := obj.(protoMessage).Marshal()
		if err != nil {
			return false, err
		}
		items = append(items, b)
		size += protowire.SizeTag(2) + protowire.SizeBytes(len(b))
		return true, nil
	})
	if err != nil {
		return err
	}
	metaBytes, err := lm.Marshal()
	if err != nil {
		return err
	}
	raw := make([]byte, 0, size+protowire.SizeTag(1)+protowire.SizeBytes(len(metaBytes)))
	raw = protowire.AppendTag(raw, 1, protowire.BytesType)
	raw = protowire.AppendBytes(raw, metaBytes)
	for i, b := range items {
		raw = protowire.AppendTag(raw, 2, protowire.BytesType)
		raw = protowire.AppendBytes(raw, b)
		items[i] = nil
	}
	unk := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: h.res.GroupVersion().String(), Kind: h.res.Kind + "List"}, Raw: raw}
	body, err := unk.Marshal()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaProtobuf)
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(protoMagic); err != nil {
		return nil
	}
	_, _ = w.Write(body)
	return nil
}

// emptyGVK clears an item's apiVersion and kind: list items carry neither.
var emptyGVK = schema.GroupVersionKind{}
