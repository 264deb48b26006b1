package apiserver

import (
	"mime"
	"net/http"
	"strings"

	"github.com/munnerz/goautoneg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Media types.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

const acceptedTypes = "application/json, application/yaml, application/vnd.kubernetes.protobuf"

// outputKind says what the client wants instead of the object itself.
type outputKind int

const (
	outputObject outputKind = iota
	outputTable
	outputPartialMetadata
	outputPartialMetadataList
	outputDiscovery
)

// mediaChoice is one acceptable response form.
type mediaChoice struct {
	info   runtime.SerializerInfo
	output outputKind
	// version of the meta.k8s.io or apidiscovery type (v1, v1beta1, v2,
	// v2beta1) for conversions.
	version string
}

// negotiate picks the response form from the Accept header. allowed says
// which conversions (as=...) the endpoint can produce.
func negotiate(r *http.Request, ser runtime.NegotiatedSerializer, allowed ...outputKind) (mediaChoice, error) {
	header := r.Header.Get("Accept")
	if header == "" {
		header = "*/*"
	}
	for _, a := range goautoneg.ParseAccept(header) {
		typ := a.Type + "/" + a.SubType
		info, ok := serializerFor(ser, typ)
		if !ok {
			continue
		}
		choice := mediaChoice{info: info, output: outputObject}
		if as := a.Params["as"]; as != "" {
			kind, version, ok := conversionFor(as, a.Params["g"], a.Params["v"])
			if !ok || !contains(allowed, kind) {
				continue
			}
			choice.output, choice.version = kind, version
		}
		return choice, nil
	}
	return mediaChoice{}, statusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		"only the following media types are accepted: "+acceptedTypes)
}

func conversionFor(as, group, version string) (outputKind, string, bool) {
	switch {
	case group == "meta.k8s.io" && (version == "v1" || version == "v1beta1"):
		switch as {
		case "Table":
			return outputTable, version, true
		case "PartialObjectMetadata":
			return outputPartialMetadata, version, true
		case "PartialObjectMetadataList":
			return outputPartialMetadataList, version, true
		}
	case group == "apidiscovery.k8s.io" && (version == "v2" || version == "v2beta1") && as == "APIGroupDiscoveryList":
		return outputDiscovery, version, true
	}
	return 0, "", false
}

func serializerFor(ser runtime.NegotiatedSerializer, typ string) (runtime.SerializerInfo, bool) {
	switch typ {
	case "*/*", "application/*":
		typ = mediaJSON
	}
	for _, info := range ser.SupportedMediaTypes() {
		if info.MediaType == typ {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

// requestSerializer returns the serializer for a request body's type.
func requestSerializer(r *http.Request, ser runtime.NegotiatedSerializer) (runtime.SerializerInfo, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mediaJSON
	}
	typ, _, err := mime.ParseMediaType(ct)
	if err == nil {
		if info, ok := serializerFor(ser, strings.ToLower(typ)); ok && typ != "*/*" {
			return info, nil
		}
	}
	return runtime.SerializerInfo{}, statusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		"the body of the request was in an unknown format - accepted media types include: "+acceptedTypes)
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
