package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/store"
)

// rawListable says a list can be answered by splicing stored JSON: the
// client wants JSON objects of the stored version and filters by nothing
// but namespace, so no object needs decoding.
func (h *resourceHandler) rawListable(choice mediaChoice, sel *objSelection) bool {
	return choice.output == outputObject && choice.info.MediaType == mediaJSON && h.res.FromStorage == nil &&
		sel.trivial() && sel.name == ""
}

var metadataOpen = []byte(`"metadata":{`)

// writeRawList streams a JSON list straight from the stored values, adding
// each object's resourceVersion. Items come before the list metadata, which
// is only known at the end (JSON objects are unordered).
func (h *resourceHandler) writeRawList(ctx context.Context, w http.ResponseWriter, sel *objSelection, o listOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	started := false
	lm, err := h.scan(ctx, sel, o, func(kv *store.KV) (bool, error) {
		if !started {
			w.Header().Set("Content-Type", mediaJSON)
			w.WriteHeader(http.StatusOK)
			bw.WriteString(`{"kind":"` + h.res.Kind + `List","apiVersion":"` + h.res.GroupVersion().String() + `","items":[`)
			started = true
		} else {
			bw.WriteByte(',')
		}
		writeWithRV(bw, kv.Value, kv.ModRevision)
		return true, nil
	})
	if err != nil {
		if started {
			return nil // the status line is gone; the client sees a truncated body
		}
		return err
	}
	if !started {
		w.Header().Set("Content-Type", mediaJSON)
		w.WriteHeader(http.StatusOK)
		bw.WriteString(`{"kind":"` + h.res.Kind + `List","apiVersion":"` + h.res.GroupVersion().String() + `","items":[`)
	}
	meta, _ := json.Marshal(metav1.ListMeta{ResourceVersion: lm.ResourceVersion, Continue: lm.Continue, RemainingItemCount: lm.RemainingItemCount})
	bw.WriteString(`],"metadata":`)
	bw.Write(meta)
	bw.WriteString("}\n")
	return bw.Flush()
}

// writeWithRV writes a stored object with metadata.resourceVersion set.
func writeWithRV(bw *bufio.Writer, value []byte, rev int64) {
	i := bytes.Index(value, metadataOpen)
	if i < 0 {
		bw.Write(value)
		return
	}
	i += len(metadataOpen)
	bw.Write(value[:i])
	bw.WriteString(`"resourceVersion":"` + strconv.FormatInt(rev, 10) + `"`)
	if i < len(value) && value[i] != '}' {
		bw.WriteByte(',')
	}
	bw.Write(value[i:])
}
