package core

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry"
)

var secretStrategy = registry.Strategy{
	Default:        defaultSecret,
	Validate:       validateSecret,
	ValidateUpdate: validateSecretUpdate,
}

// defaultSecret sets type Opaque and folds the write-only stringData into
// data (stringData wins on conflicts), as the v1 conversion of Kubernetes
// does: stringData is never stored nor returned.
func defaultSecret(obj runtime.Object) {
	s := obj.(*corev1.Secret)
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// validateSecret checks the keys, the 1 MiB size limit and the keys each
// well-known type requires.
func validateSecret(obj runtime.Object) field.ErrorList {
	s := obj.(*corev1.Secret)
	dataPath := field.NewPath("data")
	var errs field.ErrorList
	size := 0
	for key, value := range s.Data {
		errs = append(errs, configMapKeyErrs(key, dataPath.Key(key))...)
		size += len(value)
	}
	if size > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", corev1.MaxSecretSize))
	}
	return append(errs, secretTypeErrs(s, dataPath)...)
}

// secretTypeErrs checks the per-type requirements.
func secretTypeErrs(s *corev1.Secret, dataPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		// The token controller fills in the rest; only the owner is required.
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, jsonSecretKeyErrs(s, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, jsonSecretKeyErrs(s, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		// Either key may be empty, but at least one must be present.
		_, hasUser := s.Data[corev1.BasicAuthUsernameKey]
		_, hasPassword := s.Data[corev1.BasicAuthPasswordKey]
		if !hasUser && !hasPassword {
			errs = append(errs,
				field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// jsonSecretKeyErrs requires the key and a JSON object as its value; the
// value itself is never echoed back.
func jsonSecretKeyErrs(s *corev1.Secret, key string, dataPath *field.Path) field.ErrorList {
	raw, ok := s.Data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]interface{}{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

// validateSecretUpdate: the type never changes; immutable secrets keep
// their data and the flag.
func validateSecretUpdate(obj, old runtime.Object) field.ErrorList {
	s, prev := obj.(*corev1.Secret), old.(*corev1.Secret)
	errs := immutableErrs(s.Type, prev.Type, field.NewPath("type"))
	if prev.Immutable != nil && *prev.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), msgImmutableWhenSet))
		}
		if !sameBytesMap(s.Data, prev.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), msgImmutableWhenSet))
		}
	}
	return errs
}

var secretTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Type", "string", 0, corev1.Secret{}.SwaggerDoc()["type"]),
		registry.Column("Data", "string", 0, corev1.Secret{}.SwaggerDoc()["data"]),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		s := obj.(*corev1.Secret)
		return []interface{}{s.Name, string(s.Type), int64(len(s.Data)), registry.Age(s.CreationTimestamp)}
	},
}
