// Package catalog lists every resource the API server serves, in discovery
// order.
package catalog

import (
	"github.com/skiff/skiff/internal/registry"
	"github.com/skiff/skiff/internal/registry/apps"
	"github.com/skiff/skiff/internal/registry/autoscaling"
	"github.com/skiff/skiff/internal/registry/batch"
	"github.com/skiff/skiff/internal/registry/coordination"
	"github.com/skiff/skiff/internal/registry/core"
	"github.com/skiff/skiff/internal/registry/discovery"
	"github.com/skiff/skiff/internal/registry/events"
	"github.com/skiff/skiff/internal/registry/networking"
	"github.com/skiff/skiff/internal/registry/policy"
	"github.com/skiff/skiff/internal/registry/rbac"
	"github.com/skiff/skiff/internal/registry/scheduling"
	"github.com/skiff/skiff/internal/registry/storage"
)

// Resources returns a fresh description of every served resource. Groups
// come in the order kubectl's discovery shows them (core first).
func Resources() []*registry.Resource {
	var all []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(),
		apps.Resources(),
		events.Resources(),
		autoscaling.Resources(),
		batch.Resources(),
		networking.Resources(),
		policy.Resources(),
		rbac.Resources(),
		storage.Resources(),
		scheduling.Resources(),
		coordination.Resources(),
		discovery.Resources(),
	} {
		all = append(all, group...)
	}
	return all
}
