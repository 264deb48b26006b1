package apiserver

import (
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
)

// selection is which objects a list or watch wants.
type objSelection struct {
	namespace string
	// name is set when the field selector pins metadata.name.
	name   string
	labels labels.Selector
	fields fields.Selector
}

// selectAll selects every object in namespace ("" for all).
func selectAll(namespace string) *objSelection {
	return &objSelection{namespace: namespace, labels: labels.Everything(), fields: fields.Everything()}
}

func (h *resourceHandler) parseSelection(req *request) (*objSelection, error) {
	sel := selectAll(req.ri.Namespace)
	if s := req.query.Get("labelSelector"); s != "" {
		ls, err := labels.Parse(s)
		if err != nil {
			return nil, badRequest("unable to parse requirement: %v", err)
		}
		sel.labels = ls
	}
	if s := req.query.Get("fieldSelector"); s != "" {
		fs, err := fields.ParseSelector(s)
		if err != nil {
			return nil, badRequest("invalid field selector: %v", err)
		}
		for _, r := range fs.Requirements() {
			if !h.fields[r.Field] {
				return nil, badRequest("field label not supported: %s", r.Field)
			}
			if r.Field == "metadata.name" && (r.Operator == selection.Equals || r.Operator == selection.DoubleEquals) {
				sel.name = r.Value
			}
		}
		sel.fields = fs
	}
	return sel, nil
}

func (sel *objSelection) trivial() bool {
	return sel.labels.Empty() && sel.fields.Empty()
}

// matches tests a served-version object.
func (h *resourceHandler) matches(sel *objSelection, obj runtime.Object) bool {
	m := objMeta(obj)
	if sel.namespace != "" && m.GetNamespace() != sel.namespace {
		return false
	}
	if !sel.labels.Empty() && !sel.labels.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	if sel.fields.Empty() {
		return true
	}
	set := fields.Set{"metadata.name": m.GetName()}
	if h.res.Namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	if h.res.Fields != nil {
		for k, v := range h.res.Fields(obj) {
			set[k] = v
		}
	}
	return sel.fields.Matches(set)
}
