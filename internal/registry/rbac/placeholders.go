package rbac

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	clusterRoleBindingStrategy = registry.Strategy{}
	clusterRoleBindingTable    *registry.Table
	clusterRoleStrategy        = registry.Strategy{}
	clusterRoleTable           *registry.Table
	roleBindingStrategy        = registry.Strategy{}
	roleBindingTable           *registry.Table
	roleStrategy               = registry.Strategy{}
	roleTable                  *registry.Table
)
