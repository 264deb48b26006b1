// Package endpointutil holds what the Endpoints and EndpointSlice
// controllers share: which services they manage, which pods belong in a
// service's endpoints and on which ports, a per-namespace cache of service
// selectors that lets a pod event wake only the services selecting the pod,
// and the last-change trigger times both controllers annotate.
package endpointutil

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Managed reports whether the controllers keep the service's endpoints:
// it has a selector and is not of type ExternalName. Selectorless services
// have endpoints their users write.
func Managed(svc *corev1.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// Headless reports whether the service has no cluster IP.
func Headless(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone
}

// Key is the queue key of a service: namespace/name.
func Key(namespace, name string) string { return namespace + "/" + name }

// Selector returns the service's pod selector.
func Selector(svc *corev1.Service) labels.Selector {
	return labels.SelectorFromValidatedSet(svc.Spec.Selector)
}

// Selectors caches, by namespace, the pod selectors of the managed
// services, so a pod event finds the services selecting the pod without
// listing the services or converting their selectors. The controllers keep
// it current from their service event handlers.
type Selectors struct {
	mu   sync.RWMutex
	byNS map[string]map[string]labels.Selector
}

// NewSelectors returns an empty cache.
func NewSelectors() *Selectors {
	return &Selectors{byNS: map[string]map[string]labels.Selector{}}
}

// Set records the service's selector, or forgets the service if it is
// not managed.
func (s *Selectors) Set(svc *corev1.Service) {
	if !Managed(svc) {
		s.Delete(svc.Namespace, svc.Name)
		return
	}
	sel := Selector(svc)
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.byNS[svc.Namespace]
	if ns == nil {
		ns = map[string]labels.Selector{}
		s.byNS[svc.Namespace] = ns
	}
	ns[svc.Name] = sel
}

// Delete forgets a service.
func (s *Selectors) Delete(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byNS[namespace], name)
	if len(s.byNS[namespace]) == 0 {
		delete(s.byNS, namespace)
	}
}

// Matching returns the keys of the services in namespace whose selector
// matches set.
func (s *Selectors) Matching(namespace string, set labels.Set) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for name, sel := range s.byNS[namespace] {
		if sel.Matches(set) {
			out = append(out, Key(namespace, name))
		}
	}
	return out
}

// ForPod returns the keys of the services selecting the pod.
func (s *Selectors) ForPod(p *corev1.Pod) []string {
	return s.Matching(p.Namespace, p.Labels)
}

// ForPodUpdate returns the keys of the services whose endpoints the update
// may change. A change to what endpoints show of the pod concerns the
// services selecting the old or the new pod; a change of labels alone
// concerns those selecting only one of them; anything else, none.
func (s *Selectors) ForPodUpdate(old, cur *corev1.Pod) []string {
	if cur.ResourceVersion != "" && cur.ResourceVersion == old.ResourceVersion {
		return nil
	}
	changed := PodChanged(old, cur)
	if !changed && labels.Equals(old.Labels, cur.Labels) {
		return nil
	}
	now := s.ForPod(cur)
	before := s.ForPod(old)
	seen := make(map[string]int, len(now)+len(before))
	for _, k := range now {
		seen[k]++
	}
	for _, k := range before {
		seen[k]++
	}
	var out []string
	for k, n := range seen {
		if changed || n == 1 {
			out = append(out, k)
		}
	}
	return out
}
