package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestServiceAccount(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"},
		Secrets: []corev1.ObjectReference{{Name: "token", Namespace: "other", Kind: "Secret", UID: "u"}}}
	registrytest.ExpectValid(t, strategyCreate(serviceAccountStrategy, sa))
	if !reflect.DeepEqual(sa.Secrets, []corev1.ObjectReference{{Name: "token"}}) {
		t.Errorf("secrets = %+v", sa.Secrets)
	}
	want := []interface{}{"builder", int64(1), "<unknown>"}
	if row := serviceAccountTable.Row(sa); !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
}
