package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/store"
)

// toStatusError maps an error from any layer to the Kubernetes Status error
// kubectl expects. Errors already of that kind pass through.
func toStatusError(err error, res *registry.Resource, name string) *apierrors.StatusError {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	gr := schema.GroupResource{}
	if res != nil {
		gr = res.GroupResource()
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, store.ErrExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, store.ErrConflict):
		return apierrors.NewConflict(gr, name, errors.New(conflictMsg))
	case errors.Is(err, store.ErrCompacted):
		return apierrors.NewResourceExpired("too old resource version")
	case errors.Is(err, store.ErrFutureRevision):
		return apierrors.NewTimeoutError("Too large resource version", 1)
	}
	return apierrors.NewInternalError(err)
}

const conflictMsg = "the object has been modified; please apply your changes to the latest version and try again"

func invalid(res *registry.Resource, name string, errs field.ErrorList) *apierrors.StatusError {
	return apierrors.NewInvalid(res.GVK().GroupKind(), name, errs)
}

func badRequest(format string, args ...interface{}) *apierrors.StatusError {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

func methodNotSupported(res *registry.Resource, verb string) *apierrors.StatusError {
	return apierrors.NewMethodNotSupported(res.GroupResource(), verb)
}

func notFoundPath() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{},
	}}
}

func unauthorized() *apierrors.StatusError {
	return apierrors.NewUnauthorized("Unauthorized")
}

func statusError(code int32, reason metav1.StatusReason, msg string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// schemaGR names no resource, for errors about request documents.
var schemaGR = schema.GroupResource{}

func fieldRequired(name, detail string) field.ErrorList {
	return field.ErrorList{field.Required(field.NewPath(name), detail)}
}
