package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/openapi"
	"github.com/skiff/skiff/internal/registry"
)

type openAPI = openapi.Handler

func newOpenAPI(resources []*registry.Resource, scheme *runtime.Scheme, version string) *openAPI {
	return openapi.NewHandler(resources, scheme, version)
}
