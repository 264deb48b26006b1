package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Environment variables and the downward API, as Kubernetes validates
// them. Variable names follow the relaxed rule (printable ASCII but '='),
// the default since Kubernetes 1.32.

// Downward API fields a variable may read.
var envFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.uid",
	"spec.nodeName", "spec.serviceAccountName",
	"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)

// Downward API fields a downwardAPI volume may project.
var volumeFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid",
)

// Container resources the downward API exposes (hugepages by prefix).
var resourceFieldPaths = sets.New(
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
)

const (
	hugePagesRequestsPrefix = "requests.hugepages-"
	hugePagesLimitsPrefix   = "limits.hugepages-"
)

// Divisors allowed for memory-like resources.
var byteDivisors = sets.New("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")

func validateEnv(vars []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), ev.Name, msg))
			}
		}
		errs = append(errs, validateEnvVarSource(ev, p.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarSource(ev corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	from := ev.ValueFrom
	if from == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if from.FieldRef != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(from.FieldRef, envFieldPaths, fldPath.Child("fieldRef"))...)
	}
	if from.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(from.ResourceFieldRef, false, fldPath.Child("resourceFieldRef"))...)
	}
	if r := from.ConfigMapKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, fldPath.Child("configMapKeyRef"))...)
	}
	if r := from.SecretKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, fldPath.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.Value != "":
		errs = append(errs, field.Invalid(fldPath, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateObjectFieldSelector checks a downward API fieldRef against the
// fields the consumer may read; labels and annotations may also be read
// one key at a time ("metadata.labels['app']").
func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, allowed sets.Set[string], fldPath *field.Path) field.ErrorList {
	if fs.APIVersion == "" {
		return field.ErrorList{field.Required(fldPath.Child("apiVersion"), "")}
	}
	if fs.FieldPath == "" {
		return field.ErrorList{field.Required(fldPath.Child("fieldPath"), "")}
	}
	fieldPath, err := convertDownwardAPIFieldPath(fs.APIVersion, fs.FieldPath)
	if err != nil {
		return field.ErrorList{field.Invalid(fldPath.Child("fieldPath"), fs.FieldPath, fmt.Sprintf("error converting fieldPath: %v", err))}
	}
	if path, key, ok := splitSubscriptedPath(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			return checkQualifiedName(strings.ToLower(key), fldPath)
		case "metadata.labels":
			return checkQualifiedName(key, fldPath)
		}
		return field.ErrorList{field.Invalid(fldPath, path, "does not support subscript")}
	}
	if !allowed.Has(fieldPath) {
		return field.ErrorList{field.NotSupported(fldPath.Child("fieldPath"), fieldPath, sets.List(allowed))}
	}
	return nil
}

// convertDownwardAPIFieldPath maps a v1 pod field path to the one served,
// rejecting unknown fields.
func convertDownwardAPIFieldPath(version, fieldPath string) (string, error) {
	if version != "v1" {
		return "", fmt.Errorf("unsupported pod version: %s", version)
	}
	if path, _, ok := splitSubscriptedPath(fieldPath); ok {
		if path == "metadata.annotations" || path == "metadata.labels" {
			return fieldPath, nil
		}
		return "", fmt.Errorf("field label does not support subscript: %s", fieldPath)
	}
	switch fieldPath {
	case "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName",
		"status.phase", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return fieldPath, nil
	case "spec.host":
		return "spec.nodeName", nil
	}
	return "", fmt.Errorf("field label not supported: %s", fieldPath)
}

// splitSubscriptedPath splits "metadata.labels['key']" into its path and
// key.
func splitSubscriptedPath(fieldPath string) (path, key string, ok bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	path, key, found := strings.Cut(strings.TrimSuffix(fieldPath, "']"), "['")
	if !found || path == "" {
		return fieldPath, "", false
	}
	return path, key, true
}

func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, volume bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case volume && fs.ContainerName == "":
		errs = append(errs, field.Required(fldPath.Child("containerName"), ""))
	case fs.Resource == "":
		errs = append(errs, field.Required(fldPath.Child("resource"), ""))
	case !resourceFieldPaths.Has(fs.Resource) && !isHugePagesFieldPath(fs.Resource):
		errs = append(errs, field.NotSupported(fldPath.Child("resource"), fs.Resource, sets.List(resourceFieldPaths)))
	}
	return append(errs, validateResourceDivisor(fs.Resource, fs.Divisor, fldPath)...)
}

func isHugePagesFieldPath(name string) bool {
	return strings.HasPrefix(name, hugePagesRequestsPrefix) || strings.HasPrefix(name, hugePagesLimitsPrefix)
}

func validateResourceDivisor(name string, divisor resource.Quantity, fldPath *field.Path) field.ErrorList {
	if divisor.Cmp(resource.Quantity{}) == 0 {
		return nil
	}
	d := divisor.String()
	var msg string
	switch name {
	case "limits.cpu", "requests.cpu":
		if d != "1m" && d != "1" {
			msg = "only divisor's values 1m and 1 are supported with the cpu resource"
		}
	case "limits.memory", "requests.memory":
		if !byteDivisors.Has(d) {
			msg = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource"
		}
	case "limits.ephemeral-storage", "requests.ephemeral-storage":
		if !byteDivisors.Has(d) {
			msg = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource"
		}
	}
	if isHugePagesFieldPath(name) && !byteDivisors.Has(d) {
		msg = "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource"
	}
	if msg == "" {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath.Child("divisor"), name, msg)}
}

// validateKeySelector checks a configMapKeyRef or secretKeyRef.
func validateKeySelector(name, key string, fldPath *field.Path) field.ErrorList {
	errs := checkName(name, apivalidation.NameIsDNSSubdomain, fldPath.Child("name"))
	if key == "" {
		return append(errs, field.Required(fldPath.Child("key"), ""))
	}
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(fldPath.Child("key"), key, msg))
	}
	return errs
}

func validateEnvFrom(sources []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, src := range sources {
		p := fldPath.Index(i)
		if src.Prefix != "" {
			for _, msg := range validation.IsRelaxedEnvVarName(src.Prefix) {
				errs = append(errs, field.Invalid(p.Child("prefix"), src.Prefix, msg))
			}
		}
		n := 0
		if src.ConfigMapRef != nil {
			n++
			errs = append(errs, checkEnvFromName(src.ConfigMapRef.Name, p.Child("configMapRef", "name"))...)
		}
		if src.SecretRef != nil {
			n++
			errs = append(errs, checkEnvFromName(src.SecretRef.Name, p.Child("secretRef", "name"))...)
		}
		// Kubernetes reports these two on the list, not the item.
		if n == 0 {
			errs = append(errs, field.Invalid(fldPath, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(fldPath, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func checkEnvFromName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSSubdomain(name, true) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}
