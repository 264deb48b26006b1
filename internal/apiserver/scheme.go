package apiserver

import (
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apidiscoveryv2beta1 "k8s.io/api/apidiscovery/v2beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// newScheme registers every k8s.io/api type, the meta.k8s.io types (Status,
// Table, PartialObjectMetadata, options) and aggregated discovery.
func newScheme() (*runtime.Scheme, serializer.CodecFactory) {
	s := runtime.NewScheme()
	utilRuntimeMust(clientgoscheme.AddToScheme(s))
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	utilRuntimeMust(metav1.AddMetaToScheme(s))
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	utilRuntimeMust(apidiscoveryv2.AddToScheme(s))
	utilRuntimeMust(apidiscoveryv2beta1.AddToScheme(s))
	return s, serializer.NewCodecFactory(s, serializer.EnableStrict)
}

func utilRuntimeMust(err error) {
	if err != nil {
		panic(err) // programming error: a type registered twice
	}
}
