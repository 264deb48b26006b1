package apps

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

var controllerRevisionStrategy = registry.Strategy{
	Validate: func(obj runtime.Object) field.ErrorList {
		return validateControllerRevision(obj.(*appsv1.ControllerRevision))
	},
	ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
		return apivalidation.ValidateImmutableField(obj.(*appsv1.ControllerRevision).Data,
			old.(*appsv1.ControllerRevision).Data, field.NewPath("data"))
	},
}

func validateControllerRevision(r *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if r.Data.Raw == nil && r.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, nonNegative(r.Revision, field.NewPath("revision"))...)
}

// controllerName prints the controlling owner as kind.group/name.
func controllerName(r *appsv1.ControllerRevision) string {
	ref := metav1.GetControllerOf(r)
	if ref == nil {
		return "<none>"
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ref.Name
	}
	gk := gv.WithKind(ref.Kind).GroupKind()
	if gk.Empty() {
		return ref.Name
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name
}

var controllerRevisionTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Controller", "string", 0, "Controller of the object"),
		registry.Column("Revision", "string", 0, appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		r := obj.(*appsv1.ControllerRevision)
		return []interface{}{r.Name, controllerName(r), r.Revision, registry.Age(r.CreationTimestamp)}
	},
}
