// Package envvars computes a container's environment with Kubernetes'
// semantics: envFrom (ConfigMaps and Secrets, with prefix), then env in
// declaration order, where a value may refer to earlier variables with
// $(NAME) and valueFrom reads a ConfigMap or Secret key, a pod field or a
// container resource.
//
// Kubernetes' service link variables (FOO_SERVICE_HOST, KUBERNETES_PORT,
// ...) are not computed here: Request.ServiceEnv is the hook where the agent
// will pass them once skiff computes them.
package envvars

import (
	"context"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Request is everything ResolveRequest needs besides the API client.
type Request struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	// PodIPs are the pod's IPs, primary first: status.podIP is PodIPs[0],
	// status.podIPs is all of them joined by ",". Empty: pod.Status is used.
	PodIPs []string
	// HostIPs are the node's IPs, primary first (status.hostIP,
	// status.hostIPs). Empty: pod.Status is used.
	HostIPs []string
	// NodeName is spec.nodeName when the pod does not carry it yet.
	NodeName string
	// NodeAllocatable is the default for cpu, memory and ephemeral-storage
	// limits a container leaves unset (resourceFieldRef).
	NodeAllocatable corev1.ResourceList
	// ServiceEnv is the hook for Kubernetes' service environment variables
	// (KUBERNETES_SERVICE_HOST, FOO_SERVICE_PORT, ...), which skiff does not
	// compute yet. As in the kubelet, they can be referenced by $(NAME) after
	// the container's own variables and are appended, sorted by name, for
	// the names the container does not define itself. nil: none.
	ServiceEnv map[string]string
	// InvalidKeys, when set, is told about envFrom keys that were skipped
	// because they cannot be environment variable names; source reads
	// "configMap ns/name" or "secret ns/name". The agent can turn it into an
	// InvalidEnvironmentVariableNames event.
	InvalidKeys func(source string, keys []string)
}

// Resolve returns the environment of container c of pod. podIP and hostIP
// are the primary addresses; each may also be a comma-separated list (dual
// stack, primary first) for status.podIPs / status.hostIPs. nodeAllocatable
// is the default for unset limits in resourceFieldRef.
//
// An error wrapping ErrConfig (a *ConfigError) means the pod's spec refers
// to something missing or unusable — the CreateContainerConfigError case;
// other errors (API unreachable, context cancelled) are transient.
func Resolve(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, c *corev1.Container,
	podIP, hostIP string, nodeName string, nodeAllocatable corev1.ResourceList) ([]*criv1.KeyValue, error) {
	return ResolveRequest(ctx, client, Request{
		Pod:             pod,
		Container:       c,
		PodIPs:          splitList(podIP),
		HostIPs:         splitList(hostIP),
		NodeName:        nodeName,
		NodeAllocatable: nodeAllocatable,
	})
}

// ResolveRequest is Resolve with every input explicit, including the
// service environment hook.
func ResolveRequest(ctx context.Context, client kubernetes.Interface, req Request) ([]*criv1.KeyValue, error) {
	r := newResolver(ctx, client, req, false)
	if err := r.run(); err != nil {
		return nil, err
	}
	return r.result(), nil
}

// ResolveLocal resolves what needs no API call: literal values (with $(VAR)
// expansion) and pod fields (addresses from pod.Status). Variables from
// ConfigMaps, Secrets and resourceFieldRef, and values that cannot be
// resolved, are left out. It serves subPathExpr when
// the fully resolved environment is not at hand.
func ResolveLocal(pod *corev1.Pod, c *corev1.Container) []*criv1.KeyValue {
	r := newResolver(context.Background(), nil, Request{Pod: pod, Container: c}, true)
	_ = r.run() // local mode skips what it cannot resolve and never fails
	return r.result()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// env is an environment that remembers the order in which names first
// appeared; redefining a name replaces its value in place.
type env struct {
	names  []string
	values map[string]string
}

func (e *env) set(name, value string) {
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

func (r *resolver) result() []*criv1.KeyValue {
	out := make([]*criv1.KeyValue, 0, len(r.env.names)+len(r.req.ServiceEnv))
	for _, n := range r.env.names {
		out = append(out, &criv1.KeyValue{Key: n, Value: []byte(r.env.values[n])})
	}
	var extra []string
	for n := range r.req.ServiceEnv {
		if _, ok := r.env.values[n]; !ok {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		out = append(out, &criv1.KeyValue{Key: n, Value: []byte(r.req.ServiceEnv[n])})
	}
	return out
}

// addEnvFrom adds data (sorted by key) with prefix, skipping keys that
// cannot be variable names.
func (r *resolver) addEnvFrom(source, prefix string, data map[string]string) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var invalid []string
	for _, k := range keys {
		name := prefix + k
		if len(validation.IsRelaxedEnvVarName(name)) > 0 {
			invalid = append(invalid, name)
			continue
		}
		r.env.set(name, data[k])
	}
	if len(invalid) > 0 && r.req.InvalidKeys != nil {
		r.req.InvalidKeys(source, invalid)
	}
}
