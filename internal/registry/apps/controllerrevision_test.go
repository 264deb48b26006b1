package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func validRevision() *appsv1.ControllerRevision {
	yes := true
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "web-6d4cf56db6", Namespace: "default",
			CreationTimestamp: tenMinutesOld().CreationTimestamp,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web",
				UID: "1", Controller: &yes}}},
		Data:     runtime.RawExtension{Raw: []byte(`{"spec":{"template":{}}}`)},
		Revision: 2,
	}
}

func TestControllerRevisionValidate(t *testing.T) {
	registrytest.ExpectValid(t, controllerRevisionStrategy.Validate(validRevision()))
	r := validRevision()
	r.Data = runtime.RawExtension{}
	r.Revision = -1
	errs := controllerRevisionStrategy.Validate(r)
	registrytest.ExpectContains(t, errs, registrytest.Required("data", "data is mandatory"))
	registrytest.ExpectContains(t, errs, registrytest.Invalid("revision", "must be greater than or equal to 0"))

	old := validRevision()
	r = old.DeepCopy()
	r.Labels = map[string]string{"x": "y"}
	registrytest.ExpectValid(t, controllerRevisionStrategy.ValidateUpdate(r, old))
	r.Data.Raw = []byte(`{"spec":{}}`)
	registrytest.ExpectContains(t, controllerRevisionStrategy.ValidateUpdate(r, old),
		registrytest.Invalid("data", "field is immutable"))
}

func TestControllerRevisionTable(t *testing.T) {
	registrytest.ExpectColumns(t, controllerRevisionTable, []string{"Name", "Controller", "Revision", "Age"}, 0)
	r := validRevision()
	registrytest.ExpectRow(t, controllerRevisionTable, controllerRevisionTable.Row(r),
		[]interface{}{"web-6d4cf56db6", "statefulset.apps/web", int64(2), "10m"})
	r.OwnerReferences = nil
	if got := controllerRevisionTable.Row(r)[1]; got != "<none>" {
		t.Errorf("no controller printed %q", got)
	}
	r.OwnerReferences = validRevision().OwnerReferences
	r.OwnerReferences[0].APIVersion, r.OwnerReferences[0].Kind = "v1", "Pod"
	if got := controllerRevisionTable.Row(r)[1]; got != "pod/web" {
		t.Errorf("core owner printed %q", got)
	}
}
