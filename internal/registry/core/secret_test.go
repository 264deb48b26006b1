package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestSecretDefault(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, StringData: map[string]string{"b": "x", "c": "y"}}
	secretStrategy.Default(s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want Opaque", s.Type)
	}
	if s.StringData != nil || string(s.Data["a"]) != "1" || string(s.Data["b"]) != "x" || string(s.Data["c"]) != "y" {
		t.Errorf("stringData not merged: data=%v stringData=%v", s.Data, s.StringData)
	}
	typed := &corev1.Secret{Type: corev1.SecretTypeTLS}
	secretStrategy.Default(typed)
	if typed.Type != corev1.SecretTypeTLS {
		t.Errorf("type overwritten: %q", typed.Type)
	}
}

func TestSecretValidate(t *testing.T) {
	data := func(kv ...string) map[string][]byte {
		m := map[string][]byte{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = []byte(kv[i+1])
		}
		return m
	}
	sa := map[string]string{corev1.ServiceAccountNameKey: "default"}
	cases := []struct {
		name string
		s    corev1.Secret
		want []registrytest.Want
	}{
		{name: "opaque", s: corev1.Secret{Data: data("key", "v")}},
		{name: "unknown type is free-form", s: corev1.Secret{Type: "example.com/custom"}},
		{name: "bad key", s: corev1.Secret{Data: data("a b", "v")},
			want: []registrytest.Want{registrytest.Invalid("data[a b]", "must consist of alphanumeric")}},
		{name: "too big", s: corev1.Secret{Data: data("a", strings.Repeat("x", corev1.MaxSecretSize+1))},
			want: []registrytest.Want{registrytest.TooLong("data", "may not be more than 1048576 bytes")}},
		{name: "tls ok", s: corev1.Secret{Type: corev1.SecretTypeTLS, Data: data("tls.crt", "c", "tls.key", "k")}},
		{name: "tls missing", s: corev1.Secret{Type: corev1.SecretTypeTLS},
			want: []registrytest.Want{registrytest.Required("data[tls.crt]", ""), registrytest.Required("data[tls.key]", "")}},
		{name: "dockerconfigjson ok", s: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: data(".dockerconfigjson", `{"auths":{}}`)}},
		{name: "dockerconfigjson missing", s: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson},
			want: []registrytest.Want{registrytest.Required("data[.dockerconfigjson]", "")}},
		{name: "dockerconfigjson not json", s: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: data(".dockerconfigjson", "{")},
			want: []registrytest.Want{registrytest.Invalid("data[.dockerconfigjson]", "unexpected end of JSON input")}},
		{name: "dockercfg missing", s: corev1.Secret{Type: corev1.SecretTypeDockercfg},
			want: []registrytest.Want{registrytest.Required("data[.dockercfg]", "")}},
		{name: "basic-auth password only", s: corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: data("password", "")}},
		{name: "basic-auth missing", s: corev1.Secret{Type: corev1.SecretTypeBasicAuth},
			want: []registrytest.Want{registrytest.Required("data[username]", ""), registrytest.Required("data[password]", "")}},
		{name: "ssh-auth empty key", s: corev1.Secret{Type: corev1.SecretTypeSSHAuth, Data: data("ssh-privatekey", "")},
			want: []registrytest.Want{registrytest.Required("data[ssh-privatekey]", "")}},
		{name: "sa token ok", s: corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: sa}, Type: corev1.SecretTypeServiceAccountToken}},
		{name: "sa token missing annotation", s: corev1.Secret{Type: corev1.SecretTypeServiceAccountToken},
			want: []registrytest.Want{registrytest.Required("metadata.annotations[kubernetes.io/service-account.name]", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			registrytest.ExpectExactly(t, strategyCreate(secretStrategy, &c.s), c.want...)
		})
	}
}

func TestSecretUpdate(t *testing.T) {
	yes := true
	old := func() *corev1.Secret {
		return &corev1.Secret{Type: corev1.SecretTypeOpaque, Immutable: &yes, Data: map[string][]byte{"a": []byte("1")}}
	}
	changedType := old()
	changedType.Immutable = nil
	changedType.Type = "example.com/other"
	changedData := old()
	changedData.StringData = map[string]string{"a": "2"}
	same := old()
	same.StringData = map[string]string{"a": "1"}
	mutableOld := old()
	mutableOld.Immutable = nil
	mutableNew := old()
	mutableNew.Immutable = nil
	mutableNew.Data = nil
	cases := []struct {
		name     string
		new, old *corev1.Secret
		want     []registrytest.Want
	}{
		{name: "unchanged via stringData", new: same, old: old()},
		{name: "mutable", new: mutableNew, old: mutableOld},
		{name: "type and immutable", new: changedType, old: old(), want: []registrytest.Want{
			registrytest.Invalid("type", "field is immutable"),
			registrytest.Forbidden("immutable", msgImmutableWhenSet)}},
		{name: "immutable data", new: changedData, old: old(),
			want: []registrytest.Want{registrytest.Forbidden("data", "field is immutable when `immutable` is set")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			registrytest.ExpectExactly(t, strategyUpdate(secretStrategy, c.new, c.old), c.want...)
		})
	}
}

func TestSecretTable(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", CreationTimestamp: metav1.Now()},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}
	row := secretTable.Row(s)
	want := []interface{}{"tls", "kubernetes.io/tls", int64(2), "0s"}
	for i := range want {
		if row[i] != want[i] {
			t.Fatalf("row = %v, want %v", row, want)
		}
	}
	if len(secretTable.Columns) != 4 || secretTable.Columns[1].Name != "Type" {
		t.Fatalf("columns = %v", secretTable.Columns)
	}
}
