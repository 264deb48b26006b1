// Package events describes events.k8s.io/v1 Events, stored as core/v1
// events and converted.
package events

import (
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/core"
)

// Resources returns the events.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		Group: "events.k8s.io", Version: "v1",
		Resource: "events", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"},
		New:                 func() runtime.Object { return &eventsv1.Event{} },
		NewList:             func() runtime.Object { return &eventsv1.EventList{} },
		AllowCreateOnUpdate: true,
		TTL:                 core.EventTTL,
		StorageGroup:        "core",
		ToStorage:           toCoreEvent,
		FromStorage:         fromCoreEvent,
		Strategy:            eventStrategy,
		Table:               eventTable,
	}}
}
