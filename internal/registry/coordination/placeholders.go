package coordination

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	leaseStrategy = registry.Strategy{}
	leaseTable    *registry.Table
)
