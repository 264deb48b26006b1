package batch

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	cronJobStrategy = registry.Strategy{}
	cronJobTable    *registry.Table
	jobStrategy     = registry.Strategy{}
	jobTable        *registry.Table
)
