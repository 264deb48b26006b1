package networking

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

const maxControllerLength = 250

var parameterScopes = []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}

var (
	ingressClassStrategy = registry.Strategy{
		Default: func(obj runtime.Object) {
			params := obj.(*networkingv1.IngressClass).Spec.Parameters
			if params != nil && params.Scope == nil {
				scope := networkingv1.IngressClassParametersReferenceScopeCluster
				params.Scope = &scope
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validateIngressClassSpec(&obj.(*networkingv1.IngressClass).Spec, field.NewPath("spec"))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return apivalidation.ValidateImmutableField(obj.(*networkingv1.IngressClass).Spec.Controller,
				old.(*networkingv1.IngressClass).Spec.Controller, field.NewPath("spec", "controller"))
		},
	}
	ingressClassTable = &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			registry.Column("Controller", "string", 0, "Controller that is responsible for handling this class"),
			registry.Column("Parameters", "string", 0, "A reference to a resource with additional parameters"),
			registry.AgeColumn,
		},
		Row: func(obj runtime.Object) []interface{} {
			ic := obj.(*networkingv1.IngressClass)
			return []interface{}{ic.Name, ic.Spec.Controller, formatParameters(ic.Spec.Parameters), registry.Age(ic.CreationTimestamp)}
		},
	}
)

// validateIngressClassSpec: the controller is a required domain-prefixed
// path of at most 250 characters; parameters reference a cluster object or
// one in a named namespace.
func validateIngressClassSpec(spec *networkingv1.IngressClassSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	cp := p.Child("controller")
	if len(spec.Controller) > maxControllerLength {
		errs = append(errs, field.TooLong(cp, "", maxControllerLength))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(cp, spec.Controller)...)
	params := spec.Parameters
	if params == nil {
		return errs
	}
	pp := p.Child("parameters")
	errs = append(errs, validateTypedReference(params.APIGroup, params.Kind, params.Name, pp)...)
	if params.Scope == nil {
		return append(errs, field.Required(pp.Child("scope"), ""))
	}
	switch scope := *params.Scope; {
	case !slices.Contains(parameterScopes, scope):
		errs = append(errs, field.NotSupported(pp.Child("scope"), scope, parameterScopes))
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace && params.Namespace == nil:
		errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
	case scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
		for _, msg := range apivalidation.NameIsDNSLabel(*params.Namespace, false) {
			errs = append(errs, field.Invalid(pp.Child("namespace"), *params.Namespace, msg))
		}
	case params.Namespace != nil:
		errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
	}
	return errs
}

// formatParameters prints Kind[.group]/name or <none>.
func formatParameters(params *networkingv1.IngressClassParametersReference) string {
	if params == nil {
		return "<none>"
	}
	s := params.Kind
	if params.APIGroup != nil {
		s += "." + *params.APIGroup
	}
	return s + "/" + params.Name
}
