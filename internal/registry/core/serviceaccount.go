package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// ServiceAccounts need no checks beyond the metadata ones (the name is a
// DNS-1123 subdomain). Token secrets are created on demand (TokenRequest),
// not by a controller.

var serviceAccountStrategy = registry.Strategy{
	PrepareForCreate: prepareServiceAccount,
	PrepareForUpdate: func(obj, _ runtime.Object) { prepareServiceAccount(obj) },
}

// prepareServiceAccount keeps only the names of referenced secrets: they
// always live in the account's namespace.
func prepareServiceAccount(obj runtime.Object) {
	sa := obj.(*corev1.ServiceAccount)
	for i, ref := range sa.Secrets {
		sa.Secrets[i] = corev1.ObjectReference{Name: ref.Name}
	}
}

var serviceAccountTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Secrets", "string", 0, corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object) []interface{} {
		sa := obj.(*corev1.ServiceAccount)
		return []interface{}{sa.Name, int64(len(sa.Secrets)), registry.Age(sa.CreationTimestamp)}
	},
}
