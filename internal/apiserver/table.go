package apiserver

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

var createdAtColumn = metav1.TableColumnDefinition{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."}

// table prints objects as rows for kubectl. withColumns false leaves out
// the column definitions (watch events after the first).
func (h *resourceHandler) table(req *request, objs []runtime.Object, withColumns bool) (*metav1.Table, error) {
	include := metav1.IncludeMetadata
	switch v := req.query.Get("includeObject"); v {
	case "":
	case string(metav1.IncludeNone), string(metav1.IncludeMetadata), string(metav1.IncludeObject):
		include = metav1.IncludeObjectPolicy(v)
	default:
		return nil, badRequest("includeObject must be one of None, Metadata or Object, not %q", v)
	}
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	spec := h.res.Table
	if withColumns {
		if spec != nil {
			t.ColumnDefinitions = spec.Columns
		} else {
			t.ColumnDefinitions = []metav1.TableColumnDefinition{registry.NameColumn, createdAtColumn}
		}
	}
	noHeaders := req.query.Get("noHeaders") == "true"
	if noHeaders {
		t.ColumnDefinitions = nil
	}
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		row := metav1.TableRow{}
		if spec != nil {
			row.Cells = spec.Row(obj)
		} else {
			m := objMeta(obj)
			row.Cells = []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
		}
		switch include {
		case metav1.IncludeMetadata:
			row.Object = runtime.RawExtension{Object: partialMetadata(obj, "v1")}
		case metav1.IncludeObject:
			cp := obj.DeepCopyObject()
			cp.GetObjectKind().SetGroupVersionKind(h.res.GVK())
			row.Object = runtime.RawExtension{Object: cp}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
