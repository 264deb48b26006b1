package envvars

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ErrConfig matches (errors.Is) every *ConfigError: the container's
// environment refers to something that does not exist or cannot be resolved
// (a missing ConfigMap, Secret or key, an unsupported field path, an unknown
// container in a resourceFieldRef). The agent reports these as
// CreateContainerConfigError and retries on the next sync.
var ErrConfig = errors.New("container environment configuration error")

// ConfigError is the error type behind ErrConfig. Its message is the one
// Kubernetes shows, e.g. `configmap "x" not found` or
// `couldn't find key y in ConfigMap ns/x`. It unwraps to the underlying
// cause, so apierrors.IsNotFound works on a missing object.
type ConfigError struct {
	err error
}

func (e *ConfigError) Error() string { return e.err.Error() }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.err }

// Is reports whether target is ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

func configErrorf(format string, args ...any) error {
	return &ConfigError{err: fmt.Errorf(format, args...)}
}

// NotFound returns the error the kubelet gives for a referenced object that
// does not exist: `configmap "x" not found`, `secret "x" not found`. It
// satisfies apierrors.IsNotFound. kind is "configmap" or "secret".
func NotFound(kind, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: kind}, name)
}
