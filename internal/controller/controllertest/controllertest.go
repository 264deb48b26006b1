// Package controllertest holds what the controllers' unit tests share:
// filling informer caches straight from a fake clientset's objects, so a
// test decides exactly what a sync sees.
package controllertest

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// ListOf turns a list's items into the pointers a cache holds.
func ListOf[T any, P interface {
	*T
	runtime.Object
}](items []T) []any {
	out := make([]any, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

// Replace makes objs the whole content of the informer's cache.
func Replace(t testing.TB, inf cache.SharedIndexInformer, objs []any) {
	t.Helper()
	if err := inf.GetIndexer().Replace(objs, ""); err != nil {
		t.Fatal(err)
	}
}
