package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

// msgImmutableWhenSet is the detail for changes to data of objects marked
// `immutable: true`.
const msgImmutableWhenSet = "field is immutable when `immutable` is set"

var configMapStrategy = registry.Strategy{
	Validate:       validateConfigMap,
	ValidateUpdate: validateConfigMapUpdate,
}

// validateConfigMap checks keys of data and binaryData (each key at most in
// one of them) and the 1 MiB limit on their total size.
func validateConfigMap(obj runtime.Object) field.ErrorList {
	cm := obj.(*corev1.ConfigMap)
	var errs field.ErrorList
	size := 0
	dataPath := field.NewPath("data")
	for key, value := range cm.Data {
		errs = append(errs, configMapKeyErrs(key, dataPath.Key(key))...)
		if _, dup := cm.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, "duplicate of key present in binaryData"))
		}
		size += len(value)
	}
	binPath := field.NewPath("binaryData")
	for key, value := range cm.BinaryData {
		errs = append(errs, configMapKeyErrs(key, binPath.Key(key))...)
		size += len(value)
	}
	if size > corev1.MaxSecretSize {
		// The whole object is too big, so the path is empty.
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

// configMapKeyErrs checks a key of a ConfigMap or Secret: file-name
// characters only, no "." or "..".
func configMapKeyErrs(key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

// validateConfigMapUpdate: once immutable is true, neither it nor the
// data may change.
func validateConfigMapUpdate(obj, old runtime.Object) field.ErrorList {
	cm, prev := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
	if prev.Immutable == nil || !*prev.Immutable {
		return nil
	}
	var errs field.ErrorList
	if cm.Immutable == nil || !*cm.Immutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), msgImmutableWhenSet))
	}
	if !sameStringMap(cm.Data, prev.Data) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), msgImmutableWhenSet))
	}
	if !sameBytesMap(cm.BinaryData, prev.BinaryData) {
		errs = append(errs, field.Forbidden(field.NewPath("binaryData"), msgImmutableWhenSet))
	}
	return errs
}

var configMapTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Data", "string", 0, corev1.ConfigMap{}.SwaggerDoc()["data"]),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		cm := obj.(*corev1.ConfigMap)
		return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), registry.Age(cm.CreationTimestamp)}
	},
}
