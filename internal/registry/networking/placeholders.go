package networking

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	ingressClassStrategy  = registry.Strategy{}
	ingressClassTable     *registry.Table
	ingressStrategy       = registry.Strategy{}
	ingressTable          *registry.Table
	networkPolicyStrategy = registry.Strategy{}
	networkPolicyTable    *registry.Table
)
