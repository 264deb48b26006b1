package scheduling

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	priorityClassStrategy = registry.Strategy{}
	priorityClassTable    *registry.Table
)
