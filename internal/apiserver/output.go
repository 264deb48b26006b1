package apiserver

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var metaGV = schema.GroupVersion{Group: "meta.k8s.io", Version: "v1"}

// convertOutput turns one object into what the client asked for: the
// object, a one-row Table, or its PartialObjectMetadata.
func (h *resourceHandler) convertOutput(req *request, choice mediaChoice, obj runtime.Object) (runtime.Object, schema.GroupVersion, error) {
	gv := schema.GroupVersion{Group: "meta.k8s.io", Version: choice.version}
	switch choice.output {
	case outputTable:
		t, err := h.table(req, []runtime.Object{obj}, true)
		if err != nil {
			return nil, gv, err
		}
		t.ResourceVersion = objMeta(obj).GetResourceVersion()
		return t, gv, nil
	case outputPartialMetadata:
		return partialMetadata(obj, choice.version), gv, nil
	}
	return obj, h.res.GroupVersion(), nil
}

// convertListOutput does the same for a list.
func (h *resourceHandler) convertListOutput(req *request, choice mediaChoice, items []runtime.Object, lm metav1.ListMeta) (runtime.Object, schema.GroupVersion, error) {
	gv := schema.GroupVersion{Group: "meta.k8s.io", Version: choice.version}
	switch choice.output {
	case outputTable:
		t, err := h.table(req, items, true)
		if err != nil {
			return nil, gv, err
		}
		t.ListMeta = lm
		return t, gv, nil
	case outputPartialMetadataList:
		l := &metav1.PartialObjectMetadataList{ListMeta: lm, Items: make([]metav1.PartialObjectMetadata, 0, len(items))}
		for _, it := range items {
			l.Items = append(l.Items, *partialMetadata(it, choice.version))
		}
		return l, gv, nil
	}
	list := h.res.NewList()
	if err := meta.SetList(list, items); err != nil {
		return nil, gv, err
	}
	lacc, err := meta.ListAccessor(list)
	if err != nil {
		return nil, gv, err
	}
	lacc.SetResourceVersion(lm.ResourceVersion)
	lacc.SetContinue(lm.Continue)
	lacc.SetRemainingItemCount(lm.RemainingItemCount)
	return list, h.res.GroupVersion(), nil
}

func partialMetadata(obj runtime.Object, version string) *metav1.PartialObjectMetadata {
	m := objMeta(obj)
	p := &metav1.PartialObjectMetadata{ObjectMeta: *metaCopy(m)}
	p.TypeMeta = metav1.TypeMeta{APIVersion: "meta.k8s.io/" + version, Kind: "PartialObjectMetadata"}
	return p
}

func metaCopy(m metav1.Object) *metav1.ObjectMeta {
	if om, ok := m.(*metav1.ObjectMeta); ok {
		return om.DeepCopy()
	}
	return &metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
		Generation: m.GetGeneration(), CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(), Labels: m.GetLabels(), Annotations: m.GetAnnotations(),
		OwnerReferences: m.GetOwnerReferences(), Finalizers: m.GetFinalizers(), ManagedFields: m.GetManagedFields(),
		GenerateName: m.GetGenerateName(),
	}
}
