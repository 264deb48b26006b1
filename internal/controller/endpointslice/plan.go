package endpointslice

import (
	"cmp"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/controller/endpointutil"
)

// plan is what a sync writes: slices to create, to update and to delete.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

func (p *plan) add(q plan) {
	p.create = append(p.create, q.create...)
	p.update = append(p.update, q.update...)
	p.delete = append(p.delete, q.delete...)
}

// planner plans the slices of one service.
type planner struct {
	svc    *corev1.Service
	labels map[string]string // of every slice of the service
	max    int               // endpoints per slice
}

func newPlanner(svc *corev1.Service, max int) *planner {
	return &planner{svc: svc, labels: sliceLabels(svc), max: max}
}

// sliceLabels returns the labels of the service's slices: the service's
// own (but for the reserved keys), the headless label for a headless
// service, the service name and the managed-by label.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		switch k {
		case discoveryv1.LabelServiceName, discoveryv1.LabelManagedBy, corev1.IsHeadlessService:
		default:
			out[k] = v
		}
	}
	if endpointutil.Headless(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = managedBy
	return out
}

// ownedBy reports whether the service controls the slice.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	ref := metav1.GetControllerOfNoCopy(s)
	return ref != nil && ref.UID == svc.UID
}

// newSlice returns an unnamed slice of the service.
func (pl *planner) newSlice(t discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	ref := metav1.NewControllerRef(pl.svc, corev1.SchemeGroupVersion.WithKind("Service"))
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: pl.svc.Name + "-", Namespace: pl.svc.Namespace,
			Labels: maps.Clone(pl.labels), OwnerReferences: []metav1.OwnerReference{*ref},
		},
		AddressType: t,
		Ports:       slices.Clone(ports),
	}
}

// planType plans the slices of address type t, given the service's
// existing slices of that type and the desired port groups.
func (pl *planner) planType(t discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, want map[string]*portGroup) plan {
	var p plan
	byKey := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := portsKey(s.Ports)
		byKey[k] = append(byKey[k], s)
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		p.add(pl.planPorts(t, byKey[k], want[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		if want[k] == nil {
			p.delete = append(p.delete, byKey[k]...)
		}
	}
	// A service without endpoints of this type still has one empty
	// slice, so that consumers can tell it from one not yet synced.
	if len(p.create) == 0 && len(p.delete) == len(existing) {
		if len(p.delete) == 1 && pl.isPlaceholder(p.delete[0]) {
			p.delete = nil
		} else {
			p.create = append(p.create, pl.newSlice(t, nil))
		}
	}
	recycle(&p)
	return p
}

func (pl *planner) isPlaceholder(s *discoveryv1.EndpointSlice) bool {
	return len(s.Endpoints) == 0 && len(s.Ports) == 0 && maps.Equal(s.Labels, pl.labels)
}

// planPorts plans the slices of one port group: existing slices keep the
// desired endpoints they hold (updated if changed) and lose the others;
// the rest fill first the slices being updated anyway, then, if they fit,
// the unchanged slice closest to full, then new slices.
func (pl *planner) planPorts(t discoveryv1.AddressType, existing []*discoveryv1.EndpointSlice, g *portGroup) plan {
	var p plan
	remaining := maps.Clone(g.endpoints)
	var updated, unchanged []*discoveryv1.EndpointSlice
	for _, s := range existing {
		eps, changed := keep(s.Endpoints, remaining)
		switch {
		case len(eps) == 0:
			p.delete = append(p.delete, s)
		case changed || !maps.Equal(s.Labels, pl.labels):
			u := s.DeepCopy()
			u.Endpoints, u.Labels = eps, maps.Clone(pl.labels)
			updated = append(updated, u)
		default:
			unchanged = append(unchanged, s)
		}
	}
	rest := sortedEndpoints(remaining)
	for _, u := range updated {
		rest = pl.fill(u, rest)
	}
	for len(rest) > 0 {
		var s *discoveryv1.EndpointSlice
		if len(rest) < pl.max {
			s, unchanged = takeFitting(unchanged, len(rest), pl.max)
		}
		if s == nil {
			s = pl.newSlice(t, g.ports)
			p.create = append(p.create, s)
		} else {
			updated = append(updated, s)
		}
		rest = pl.fill(s, rest)
	}
	p.update = updated
	return p
}

// keep returns the endpoints of eps still desired, as desired, taking them
// out of remaining, and whether that differs from eps.
func keep(eps []discoveryv1.Endpoint, remaining map[string]discoveryv1.Endpoint) ([]discoveryv1.Endpoint, bool) {
	var out []discoveryv1.Endpoint
	changed := false
	for i := range eps {
		ep := &eps[i]
		if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" {
			changed = true
			continue
		}
		want, ok := remaining[ep.TargetRef.Name]
		if !ok {
			changed = true
			continue
		}
		delete(remaining, ep.TargetRef.Name)
		if !equality.Semantic.DeepEqual(*ep, want) {
			changed = true
		}
		out = append(out, want)
	}
	return out, changed
}

// fill moves endpoints from rest into s up to its capacity and returns
// those left.
func (pl *planner) fill(s *discoveryv1.EndpointSlice, rest []discoveryv1.Endpoint) []discoveryv1.Endpoint {
	n := min(pl.max-len(s.Endpoints), len(rest))
	if n <= 0 {
		return rest
	}
	s.Endpoints = append(s.Endpoints, rest[:n]...)
	return rest[n:]
}

// takeFitting removes from slices the fullest one with room for n more
// endpoints and returns a copy of it, or nil if none has room.
func takeFitting(ss []*discoveryv1.EndpointSlice, n, max int) (*discoveryv1.EndpointSlice, []*discoveryv1.EndpointSlice) {
	best := -1
	for i, s := range ss {
		if len(s.Endpoints)+n <= max && (best < 0 || cmp.Compare(len(s.Endpoints), len(ss[best].Endpoints)) > 0) {
			best = i
		}
	}
	if best < 0 {
		return nil, ss
	}
	s := ss[best].DeepCopy()
	return s, slices.Delete(slices.Clone(ss), best, best+1)
}

// recycle turns pairs of a slice to create and one to delete into an
// update of the latter, saving a write.
func recycle(p *plan) {
	for len(p.create) > 0 && len(p.delete) > 0 {
		c, d := p.create[len(p.create)-1], p.delete[len(p.delete)-1]
		p.create, p.delete = p.create[:len(p.create)-1], p.delete[:len(p.delete)-1]
		u := d.DeepCopy()
		u.Labels, u.Ports, u.Endpoints = c.Labels, c.Ports, c.Endpoints
		p.update = append(p.update, u)
	}
}
