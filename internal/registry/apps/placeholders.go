package apps

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	controllerRevisionStrategy = registry.Strategy{}
	controllerRevisionTable    *registry.Table
	daemonSetStrategy          = registry.Strategy{}
	daemonSetTable             *registry.Table
	deploymentStrategy         = registry.Strategy{}
	deploymentTable            *registry.Table
	replicaSetStrategy         = registry.Strategy{}
	replicaSetTable            *registry.Table
	statefulSetStrategy        = registry.Strategy{}
	statefulSetTable           *registry.Table
)
