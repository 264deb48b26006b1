// Package storage describes storage.k8s.io/v1 StorageClasses.
package storage

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the storage.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "storage.k8s.io", Version: "v1",
		Resource: "storageclasses", ReturnDeletedObject: true, Kind: "StorageClass", ShortNames: []string{"sc"},
		New:      func() runtime.Object { return &storagev1.StorageClass{} },
		NewList:  func() runtime.Object { return &storagev1.StorageClassList{} },
		Strategy: storageClassStrategy,
		Table:    storageClassTable,
	}}
}
