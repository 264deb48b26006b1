package core

import "github.com/skiff/skiff/internal/registry"

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	serviceTable           *registry.Table
	serviceStrategy        = registry.Strategy{}
	serviceAccountTable    *registry.Table
	serviceAccountStrategy = registry.Strategy{}
	secretTable            *registry.Table
	secretStrategy         = registry.Strategy{}
	rcTable                *registry.Table
	rcStrategy             = registry.Strategy{}
	quotaTable             *registry.Table
	quotaStrategy          = registry.Strategy{}
	pvcTable               *registry.Table
	pvcStrategy            = registry.Strategy{}
	pvTable                *registry.Table
	pvStrategy             = registry.Strategy{}
	podTemplateTable       *registry.Table
	podTemplateStrategy    = registry.Strategy{}
	podTable               *registry.Table
	podStrategy            = registry.Strategy{}
	nodeTable              *registry.Table
	nodeStrategy           = registry.Strategy{}
	limitRangeTable        *registry.Table
	configMapStrategy      = registry.Strategy{}
	configMapTable         *registry.Table
	endpointsStrategy      = registry.Strategy{}
	endpointsTable         *registry.Table
	eventStrategy          = registry.Strategy{}
	eventTable             *registry.Table
	limitRangeStrategy     = registry.Strategy{}
	namespaceStrategy      = registry.Strategy{}
	namespaceTable         *registry.Table
)
