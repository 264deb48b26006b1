package apiserver

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/store"
)

var createdAtColumn = metav1.TableColumnDefinition{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."}

// tabler turns objects into kubectl's table rows.
type tabler struct {
	h       *resourceHandler
	include metav1.IncludeObjectPolicy
	// noHeaders leaves out column definitions (?noHeaders=true).
	noHeaders bool
}

func (h *resourceHandler) newTabler(req *request) (*tabler, error) {
	tb := &tabler{h: h, include: metav1.IncludeMetadata, noHeaders: req.query.Get("noHeaders") == "true"}
	switch v := req.query.Get("includeObject"); v {
	case "":
	case string(metav1.IncludeNone), string(metav1.IncludeMetadata), string(metav1.IncludeObject):
		tb.include = metav1.IncludeObjectPolicy(v)
	default:
		return nil, badRequest("includeObject must be one of None, Metadata or Object, not %q", v)
	}
	return tb, nil
}

// empty returns a table with the column definitions (unless withColumns
// is false, as in watch events after the first) and no rows.
func (tb *tabler) empty(withColumns bool) *metav1.Table {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	if withColumns && !tb.noHeaders {
		if spec := tb.h.res.Table; spec != nil {
			t.ColumnDefinitions = spec.Columns
		} else {
			t.ColumnDefinitions = []metav1.TableColumnDefinition{registry.NameColumn, createdAtColumn}
		}
	}
	return t
}

// row prints one object.
func (tb *tabler) row(obj runtime.Object) metav1.TableRow {
	row := metav1.TableRow{}
	if spec := tb.h.res.Table; spec != nil {
		row.Cells = spec.Row(obj)
	} else {
		m := objMeta(obj)
		row.Cells = []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
	}
	switch tb.include {
	case metav1.IncludeMetadata:
		pm := partialMetadata(obj, "v1")
		pm.ManagedFields = nil // kubectl never prints them in tables
		row.Object = runtime.RawExtension{Object: pm}
	case metav1.IncludeObject:
		cp := obj.DeepCopyObject()
		cp.GetObjectKind().SetGroupVersionKind(tb.h.res.GVK())
		row.Object = runtime.RawExtension{Object: cp}
	}
	return row
}

// table prints objects as a table for kubectl.
func (h *resourceHandler) table(req *request, objs []runtime.Object, withColumns bool) (*metav1.Table, error) {
	tb, err := h.newTabler(req)
	if err != nil {
		return nil, err
	}
	t := tb.empty(withColumns)
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		t.Rows = append(t.Rows, tb.row(obj))
	}
	return t, nil
}

// listTable builds a list's table row by row, so only the rows, not the
// decoded objects, are held at once.
func (h *resourceHandler) listTable(req *request, sel *objSelection, o listOptions) (*metav1.Table, error) {
	tb, err := h.newTabler(req)
	if err != nil {
		return nil, err
	}
	t := tb.empty(true)
	t.Rows = []metav1.TableRow{}
	lm, err := h.scan(req.ctx, sel, o, func(kv *store.KV) (bool, error) {
		obj, err := h.decodeServed(kv)
		if err != nil || !h.matches(sel, obj) {
			return false, err
		}
		t.Rows = append(t.Rows, tb.row(obj))
		return true, nil
	})
	t.ListMeta = lm
	return t, err
}
