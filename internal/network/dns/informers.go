package dns

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// watcher keeps the index in step with the Services and EndpointSlices
// the informers deliver. The two informers call it from their own
// goroutines; mu orders their updates.
type watcher struct {
	ix   *index
	zone string

	mu       sync.Mutex
	services map[svcKey]*corev1.Service
	slices   map[svcKey]map[string]*discoveryv1.EndpointSlice // by slice name
	owner    map[svcKey]svcKey                                // slice -> its service
}

func newWatcher(ix *index, zone string) *watcher {
	return &watcher{
		ix:       ix,
		zone:     zone,
		services: map[svcKey]*corev1.Service{},
		slices:   map[svcKey]map[string]*discoveryv1.EndpointSlice{},
		owner:    map[svcKey]svcKey{},
	}
}

// informers creates the factory and registers the handlers; the caller
// starts it and waits for the returned registrations to sync.
func (w *watcher) informers(client kubernetes.Interface) (informers.SharedInformerFactory, []cache.ResourceEventHandlerRegistration, error) {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripObject))
	svc, err := f.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.serviceChanged(obj, false) },
		UpdateFunc: func(_, obj any) { w.serviceChanged(obj, false) },
		DeleteFunc: func(obj any) { w.serviceChanged(obj, true) },
	})
	if err != nil {
		return nil, nil, err
	}
	eps, err := f.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.sliceChanged(obj, false) },
		UpdateFunc: func(_, obj any) { w.sliceChanged(obj, false) },
		DeleteFunc: func(obj any) { w.sliceChanged(obj, true) },
	})
	if err != nil {
		return nil, nil, err
	}
	return f, []cache.ResourceEventHandlerRegistration{svc, eps}, nil
}

func (w *watcher) serviceChanged(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	k := svcKey{ns: svc.Namespace, name: svc.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.services, k)
	} else {
		w.services[k] = svc
	}
	w.rebuild(k)
}

func (w *watcher) sliceChanged(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	sk := svcKey{ns: sl.Namespace, name: sl.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	// A slice can change hands (its service-name label edited): take it
	// from the service that had it first.
	if prev, ok := w.owner[sk]; ok {
		delete(w.slices[prev], sl.Name)
		if len(w.slices[prev]) == 0 {
			delete(w.slices, prev)
		}
		delete(w.owner, sk)
		w.rebuild(prev)
	}
	svcName := sl.Labels[discoveryv1.LabelServiceName]
	if deleted || svcName == "" {
		return
	}
	k := svcKey{ns: sl.Namespace, name: svcName}
	if w.slices[k] == nil {
		w.slices[k] = map[string]*discoveryv1.EndpointSlice{}
	}
	w.slices[k][sl.Name] = sl
	w.owner[sk] = k
	w.rebuild(k)
}

// rebuild recomputes the entry of k. Called with mu held.
func (w *watcher) rebuild(k svcKey) {
	svc := w.services[k]
	if svc == nil {
		w.ix.set(k, nil)
		return
	}
	var sl []*discoveryv1.EndpointSlice
	for _, s := range w.slices[k] {
		sl = append(sl, s)
	}
	w.ix.set(k, buildEntry(svc, sl, w.zone))
}

// stripObject drops what DNS never reads before the informer caches an
// object: managed fields and annotations (kubectl's last-applied copy can
// be larger than the rest), and per-endpoint topology and references.
func stripObject(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	if sl, ok := obj.(*discoveryv1.EndpointSlice); ok {
		for i := range sl.Endpoints {
			ep := &sl.Endpoints[i]
			ep.TargetRef, ep.NodeName, ep.Zone, ep.Hints, ep.DeprecatedTopology = nil, nil, nil, nil, nil
		}
	}
	return obj, nil
}
