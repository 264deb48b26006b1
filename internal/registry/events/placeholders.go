package events

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Placeholders: each is replaced by a real strategy or table in its own file.
var (
	eventStrategy = registry.Strategy{}
	eventTable    *registry.Table
	toCoreEvent   func(runtime.Object) (runtime.Object, error)
	fromCoreEvent func(runtime.Object) (runtime.Object, error)
)
