package apiserver

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/skiff/skiff/internal/registry"
)

// fieldManagers tracks managedFields for one resource: every write
// records its manager's fields (Update), server-side apply merges
// (Apply). Built on first use: the type schema is large.
type fieldManagers struct {
	s   *Server
	res *registry.Resource

	once   sync.Once
	main   *managedfields.FieldManager
	status *managedfields.FieldManager
	err    error
}

func newFieldManagers(s *Server, res *registry.Resource) *fieldManagers {
	return &fieldManagers{s: s, res: res}
}

var (
	typeConverterOnce sync.Once
	typeConverter     managedfields.TypeConverter
)

// WarmUp builds the server-side apply type converter (a large schema
// parse) ahead of the first write; skiff server calls it while etcd starts.
func WarmUp() {
	typeConverterOnce.Do(func() {
		scheme, _ := newScheme()
		typeConverter = applyconfigurations.NewTypeConverter(scheme)
	})
}

func (f *fieldManagers) init() {
	WarmUp()
	gv := f.res.GroupVersion()
	version := fieldpath.APIVersion(gv.String())
	status := fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	spec := fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	mainReset := map[fieldpath.APIVersion]fieldpath.Filter{}
	if f.res.Status {
		mainReset[version] = fieldpath.NewExcludeSetFilter(status)
	}
	def := defaulter{f.res}
	f.main, f.err = managedfields.NewDefaultFieldManager(typeConverter, f.s.scheme, def, f.s.scheme, f.res.GVK(), gv, "", mainReset)
	if f.err != nil || !f.res.Status {
		return
	}
	statusReset := map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(spec)}
	f.status, f.err = managedfields.NewDefaultFieldManager(typeConverter, f.s.scheme, def, f.s.scheme, f.res.GVK(), gv, "status", statusReset)
}

func (f *fieldManagers) get(sub string) *managedfields.FieldManager {
	f.once.Do(f.init)
	if f.err != nil {
		f.s.log.Error("field manager unavailable", "resource", f.res.GVR(), "err", f.err)
		return nil
	}
	if sub == "status" {
		return f.status
	}
	if sub != "" {
		return nil
	}
	return f.main
}

// update records manager's changes from live (nil on create) to obj.
func (f *fieldManagers) update(live, obj runtime.Object, manager, sub string) runtime.Object {
	fm := f.get(sub)
	if fm == nil {
		return obj
	}
	if live == nil {
		live = f.res.New()
		live.GetObjectKind().SetGroupVersionKind(f.res.GVK())
	}
	obj.GetObjectKind().SetGroupVersionKind(f.res.GVK())
	return fm.UpdateNoErrors(live, obj, manager)
}

// apply merges an applied configuration into live for manager.
func (f *fieldManagers) apply(live, applied runtime.Object, manager, sub string, force bool) (runtime.Object, error) {
	fm := f.get(sub)
	if fm == nil {
		return nil, badRequest("server-side apply is not supported for this subresource")
	}
	live.GetObjectKind().SetGroupVersionKind(f.res.GVK())
	return fm.Apply(live, applied, manager, force)
}

type defaulter struct{ res *registry.Resource }

func (d defaulter) Default(obj runtime.Object) {
	if d.res.Strategy.Default != nil {
		d.res.Strategy.Default(obj)
	}
}

// managerFromUserAgent names the manager of a write without fieldManager:
// the client program's name, as Kubernetes derives it.
func managerFromUserAgent(ua string) string {
	if i := strings.IndexByte(ua, '/'); i >= 0 {
		ua = ua[:i]
	}
	if len(ua) > 128 {
		ua = ua[:128]
	}
	if ua == "" {
		return "unknown"
	}
	return ua
}
