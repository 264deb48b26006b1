// Package registry describes every resource skiff serves: its names, types,
// storage location, and the strategy that defaults, validates and prints it.
// The API server is generic over these descriptions; adding a resource is one
// Resource value (see the group packages and package catalog).
package registry

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource describes one served resource at one group/version.
type Resource struct {
	Group    string
	Version  string
	Resource string // plural, lower case: "deployments"
	Kind     string
	// Singular defaults to the lower-cased Kind.
	Singular   string
	Namespaced bool
	ShortNames []string
	Categories []string

	New     func() runtime.Object
	NewList func() runtime.Object

	// Strategy defaults, validates and prepares objects. Zero is valid.
	Strategy Strategy

	// Status says the resource has a /status subresource: a create
	// starts with an empty status (unless KeepStatusOnCreate), updates of
	// the main resource keep the stored status, updates of /status keep
	// all but status.
	Status bool
	// ReturnDeletedObject answers a DELETE with the deleted object
	// instead of a Status (pods, services, ...).
	ReturnDeletedObject bool
	// KeepStatusOnCreate keeps the status a client sends on create
	// (nodes: the agent registers its node with status).
	KeepStatusOnCreate bool
	// Scale, when set, serves /scale as autoscaling/v1 Scale.
	Scale *Scale
	// Generation bumps metadata.generation when anything but metadata and
	// status changes.
	Generation bool
	// AllowCreateOnUpdate lets PUT create a missing object.
	AllowCreateOnUpdate bool
	// TTL expires stored objects (events).
	TTL time.Duration
	// Verbs overrides the default verbs (all of them).
	Verbs []string

	// StorageGroup and StorageResource, when set, place the objects under
	// another resource's keys: events.k8s.io events are stored as core
	// events, autoscaling/v1 HPAs as autoscaling/v2 ones. Objects are
	// converted with ToStorage and FromStorage; both must be set then.
	StorageGroup    string
	StorageResource string
	ToStorage       func(obj runtime.Object) (runtime.Object, error)
	FromStorage     func(obj runtime.Object) (runtime.Object, error)

	// Fields returns the field-selector values beyond metadata.name and
	// metadata.namespace (for pods: spec.nodeName, status.phase, ...).
	Fields func(obj runtime.Object) fields.Set

	// Table prints the resource for kubectl get; nil prints NAME and
	// CREATED AT.
	Table *Table
}

// GroupVersion returns the resource's group and version.
func (r *Resource) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// GVK returns the resource's kind with group and version.
func (r *Resource) GVK() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.Kind)
}

// GVR returns the resource with group and version.
func (r *Resource) GVR() schema.GroupVersionResource {
	return r.GroupVersion().WithResource(r.Resource)
}

// GroupResource returns e.g. deployments.apps, for messages.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

// StoragePrefix is the key prefix of all objects: /registry/<group>/<resource>/.
func (r *Resource) StoragePrefix() string {
	g, res := r.Group, r.Resource
	if r.StorageGroup != "" {
		g = r.StorageGroup
	}
	if r.StorageResource != "" {
		res = r.StorageResource
	}
	if g == "" {
		g = "core"
	}
	return "/registry/" + g + "/" + res + "/"
}

// Strategy customises the generic create/update flow of a resource. Every
// field may be nil.
type Strategy struct {
	// Default fills in defaults, as Kubernetes' defaulting functions do.
	// It runs on every create and update (and on decoded patches).
	Default func(obj runtime.Object)
	// PrepareForCreate sets the fields the server owns on create (for
	// example a pod's status.phase). Status of resources with a status
	// subresource is already cleared.
	PrepareForCreate func(obj runtime.Object)
	// PrepareForUpdate adjusts an update of the main resource, given the
	// stored object. Status is already preserved for resources with a
	// status subresource.
	PrepareForUpdate func(obj, old runtime.Object)
	// Validate checks an object on create and update, beyond the generic
	// metadata checks. Paths start at the object's root ("spec...").
	Validate func(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks transitions (immutable fields) on update; it
	// runs after Validate.
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatus checks an update through /status.
	ValidateStatus func(obj, old runtime.Object) field.ErrorList
	// NameValidator checks metadata.name; nil means a DNS-1123 subdomain.
	NameValidator func(name string, prefix bool) []string
	// Warnings returns warnings to send with a create or update.
	Warnings func(obj runtime.Object) []string
}

// Scale maps a resource onto autoscaling/v1 Scale.
type Scale struct {
	// Get returns spec.replicas, status.replicas and the label selector
	// in its string form.
	Get func(obj runtime.Object) (spec, status int32, selector string)
	// Set changes spec.replicas.
	Set func(obj runtime.Object, replicas int32)
}

// Table prints a resource as kubectl shows it. Columns include the first
// "Name" column; Row returns one cell per column.
type Table struct {
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object) []interface{}
}

// Default verbs for every resource.
var DefaultVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// VerbsOf returns the verbs the resource supports.
func (r *Resource) VerbsOf() []string {
	if r.Verbs != nil {
		return r.Verbs
	}
	return DefaultVerbs
}
