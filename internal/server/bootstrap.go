package server

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/apiserver"
	"github.com/skiff/skiff/internal/registry/rbac"
	"github.com/skiff/skiff/internal/registry/scheduling"
)

// systemNamespaces exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates the objects every cluster starts with, keeping any a
// user changed: the system namespaces, the default RBAC roles and
// bindings, and the built-in priority classes.
func bootstrap(ctx context.Context, api *apiserver.Server) error {
	var objs []runtime.Object
	for _, ns := range systemNamespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	roles, bindings := rbac.BootstrapPolicy()
	for _, r := range roles {
		objs = append(objs, r)
	}
	for _, b := range bindings {
		objs = append(objs, b)
	}
	for _, pc := range scheduling.SystemPriorityClasses() {
		objs = append(objs, pc)
	}
	return api.EnsureObjects(ctx, objs...)
}
