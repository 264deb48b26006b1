package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestConfigMapValidate(t *testing.T) {
	big := strings.Repeat("x", corev1.MaxSecretSize)
	cases := []struct {
		name string
		cm   corev1.ConfigMap
		want []registrytest.Want
	}{
		{name: "valid", cm: corev1.ConfigMap{Data: map[string]string{"a.conf": "x", "B_2-c": "y"}, BinaryData: map[string][]byte{"bin": {1}}}},
		{name: "empty", cm: corev1.ConfigMap{}},
		{name: "bad key", cm: corev1.ConfigMap{Data: map[string]string{"a/b": "x"}},
			want: []registrytest.Want{registrytest.Invalid("data[a/b]", "must consist of alphanumeric characters")}},
		{name: "dot key", cm: corev1.ConfigMap{BinaryData: map[string][]byte{"..": nil}},
			want: []registrytest.Want{registrytest.Invalid("binaryData[..]", "must not be '..'")}},
		{name: "duplicate key", cm: corev1.ConfigMap{Data: map[string]string{"k": "x"}, BinaryData: map[string][]byte{"k": {1}}},
			want: []registrytest.Want{registrytest.Invalid("data[k]", "duplicate of key present in binaryData")}},
		{name: "exactly 1MiB", cm: corev1.ConfigMap{Data: map[string]string{"k": big}}},
		{name: "too big", cm: corev1.ConfigMap{Data: map[string]string{"k": big}, BinaryData: map[string][]byte{"b": {1}}},
			want: []registrytest.Want{registrytest.TooLong("[]", "may not be more than 1048576 bytes")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			registrytest.ExpectExactly(t, strategyCreate(configMapStrategy, &c.cm), c.want...)
		})
	}
}

func TestConfigMapImmutable(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name     string
		old, new corev1.ConfigMap
		want     []registrytest.Want
	}{
		{name: "mutable data changes", old: corev1.ConfigMap{Data: map[string]string{"a": "1"}},
			new: corev1.ConfigMap{Data: map[string]string{"a": "2"}}},
		{name: "becomes immutable", old: corev1.ConfigMap{Data: map[string]string{"a": "1"}},
			new: corev1.ConfigMap{Immutable: &yes, Data: map[string]string{"a": "2"}}},
		{name: "immutable unchanged, nil vs empty", old: corev1.ConfigMap{Immutable: &yes},
			new: corev1.ConfigMap{Immutable: &yes, Data: map[string]string{}}},
		{name: "immutable data changes", old: corev1.ConfigMap{Immutable: &yes, Data: map[string]string{"a": "1"}},
			new:  corev1.ConfigMap{Immutable: &yes, Data: map[string]string{"a": "2"}, BinaryData: map[string][]byte{"b": {1}}},
			want: []registrytest.Want{registrytest.Forbidden("data", msgImmutableWhenSet), registrytest.Forbidden("binaryData", msgImmutableWhenSet)}},
		{name: "immutable unset", old: corev1.ConfigMap{Immutable: &yes}, new: corev1.ConfigMap{Immutable: &no},
			want: []registrytest.Want{registrytest.Forbidden("immutable", "field is immutable when `immutable` is set")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			registrytest.ExpectExactly(t, strategyUpdate(configMapStrategy, &c.new, &c.old), c.want...)
		})
	}
}

func TestConfigMapTable(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}}
	row := configMapTable.Row(cm)
	if len(row) != len(configMapTable.Columns) || row[0] != "cfg" || row[1] != int64(3) || row[2] != "<unknown>" {
		t.Fatalf("row = %v", row)
	}
}
