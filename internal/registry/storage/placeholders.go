package storage

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	storageClassStrategy = registry.Strategy{}
	storageClassTable    *registry.Table
)
