package envvars

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// errSkip marks a value that is left out: an optional reference that does
// not resolve, or anything needing the API in local mode.
var errSkip = errors.New("skip")

type resolver struct {
	ctx     context.Context
	client  kubernetes.Interface
	req     Request
	local   bool
	env     env
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func newResolver(ctx context.Context, client kubernetes.Interface, req Request, local bool) *resolver {
	return &resolver{
		ctx:     ctx,
		client:  client,
		req:     req,
		local:   local,
		env:     env{values: map[string]string{}},
		cms:     map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{},
	}
}

func (r *resolver) run() error {
	c := r.req.Container
	if r.req.Pod == nil || c == nil {
		return fmt.Errorf("envvars: pod and container are required")
	}
	for _, ef := range c.EnvFrom {
		if err := r.envFrom(ef); err != nil {
			return err
		}
	}
	for i := range c.Env {
		v, err := r.value(&c.Env[i])
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return err
		}
		r.env.set(c.Env[i].Name, v)
	}
	return nil
}

func (r *resolver) envFrom(ef corev1.EnvFromSource) error {
	ns := r.req.Pod.Namespace
	switch {
	case ef.ConfigMapRef != nil:
		cm, err := r.configMap(ef.ConfigMapRef.Name, isTrue(ef.ConfigMapRef.Optional))
		if err != nil {
			return skipOK(err)
		}
		r.addEnvFrom("configMap "+ns+"/"+ef.ConfigMapRef.Name, ef.Prefix, cm.Data)
	case ef.SecretRef != nil:
		s, err := r.secret(ef.SecretRef.Name, isTrue(ef.SecretRef.Optional))
		if err != nil {
			return skipOK(err)
		}
		data := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
		r.addEnvFrom("secret "+ns+"/"+ef.SecretRef.Name, ef.Prefix, data)
	}
	return nil
}

// skipOK turns errSkip into success.
func skipOK(err error) error {
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

func isTrue(b *bool) bool { return b != nil && *b }

// value computes one env entry; errSkip leaves the variable out.
func (r *resolver) value(ev *corev1.EnvVar) (string, error) {
	if ev.Value != "" {
		return Expand(ev.Value, r.lookup), nil
	}
	from := ev.ValueFrom
	switch {
	case from == nil:
		return "", nil
	case from.FieldRef != nil:
		return r.fieldValue(from.FieldRef)
	case from.ResourceFieldRef != nil:
		return r.resourceValue(from.ResourceFieldRef)
	case from.ConfigMapKeyRef != nil:
		return r.configMapKey(from.ConfigMapKeyRef)
	case from.SecretKeyRef != nil:
		return r.secretKey(from.SecretKeyRef)
	case from.FileKeyRef != nil:
		if r.local {
			return "", errSkip
		}
		return "", configErrorf("env %s: fileKeyRef is not supported", ev.Name)
	}
	return "", nil
}

// lookup is the $(NAME) mapping: the variables defined so far, then the
// service variables.
func (r *resolver) lookup(name string) (string, bool) {
	if v, ok := r.env.values[name]; ok {
		return v, true
	}
	v, ok := r.req.ServiceEnv[name]
	return v, ok
}

func (r *resolver) resourceValue(sel *corev1.ResourceFieldSelector) (string, error) {
	if r.local {
		// Unset limits default to the node's allocatable, unknown here.
		return "", errSkip
	}
	return ResourceFieldValue(sel, r.req.Pod, r.req.Container, r.req.NodeAllocatable)
}

func (r *resolver) configMapKey(sel *corev1.ConfigMapKeySelector) (string, error) {
	optional := isTrue(sel.Optional)
	cm, err := r.configMap(sel.Name, optional)
	if err != nil {
		return "", err
	}
	v, ok := cm.Data[sel.Key]
	if !ok {
		if optional {
			return "", errSkip
		}
		return "", configErrorf("couldn't find key %v in ConfigMap %v/%v", sel.Key, r.req.Pod.Namespace, sel.Name)
	}
	return v, nil
}

func (r *resolver) secretKey(sel *corev1.SecretKeySelector) (string, error) {
	optional := isTrue(sel.Optional)
	s, err := r.secret(sel.Name, optional)
	if err != nil {
		return "", err
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		if optional {
			return "", errSkip
		}
		return "", configErrorf("couldn't find key %v in Secret %v/%v", sel.Key, r.req.Pod.Namespace, sel.Name)
	}
	return string(v), nil
}

// configMap fetches (once per resolution) a ConfigMap of the pod's
// namespace. A missing one is errSkip when optional, a ConfigError otherwise.
func (r *resolver) configMap(name string, optional bool) (*corev1.ConfigMap, error) {
	if cm, ok := r.cms[name]; ok {
		return cm, r.missing("configmap", name, cm == nil, optional)
	}
	if r.local {
		return nil, errSkip
	}
	if r.client == nil {
		return nil, configErrorf("couldn't get configMap %v/%v, no kubeClient defined", r.req.Pod.Namespace, name)
	}
	cm, err := r.client.CoreV1().ConfigMaps(r.req.Pod.Namespace).Get(r.ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("couldn't get configMap %v/%v: %w", r.req.Pod.Namespace, name, err)
	}
	if err != nil {
		cm = nil
	}
	r.cms[name] = cm
	return cm, r.missing("configmap", name, cm == nil, optional)
}

func (r *resolver) secret(name string, optional bool) (*corev1.Secret, error) {
	if s, ok := r.secrets[name]; ok {
		return s, r.missing("secret", name, s == nil, optional)
	}
	if r.local {
		return nil, errSkip
	}
	if r.client == nil {
		return nil, configErrorf("couldn't get secret %v/%v, no kubeClient defined", r.req.Pod.Namespace, name)
	}
	s, err := r.client.CoreV1().Secrets(r.req.Pod.Namespace).Get(r.ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("couldn't get secret %v/%v: %w", r.req.Pod.Namespace, name, err)
	}
	if err != nil {
		s = nil
	}
	r.secrets[name] = s
	return s, r.missing("secret", name, s == nil, optional)
}

func (r *resolver) missing(kind, name string, absent, optional bool) error {
	switch {
	case !absent:
		return nil
	case optional:
		return errSkip
	}
	return &ConfigError{err: NotFound(kind, name)}
}

// fieldValue resolves an env fieldRef.
func (r *resolver) fieldValue(sel *corev1.ObjectFieldSelector) (string, error) {
	if err := checkFieldAPIVersion(sel); err != nil {
		return "", err
	}
	pod := r.req.Pod
	switch sel.FieldPath {
	case "spec.nodeName":
		if pod.Spec.NodeName != "" {
			return pod.Spec.NodeName, nil
		}
		return r.req.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		ips := r.podIPs()
		if sel.FieldPath == "status.podIPs" {
			return strings.Join(ips, ","), nil
		}
		return first(ips), nil
	case "status.hostIP", "status.hostIPs":
		return r.hostIPs(sel.FieldPath)
	}
	v, err := PodFieldValue(pod, sel.FieldPath)
	if err != nil && r.local {
		return "", errSkip
	}
	return v, err
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (r *resolver) podIPs() []string {
	if len(r.req.PodIPs) > 0 {
		return r.req.PodIPs
	}
	var ips []string
	for _, ip := range r.req.Pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && r.req.Pod.Status.PodIP != "" {
		ips = []string{r.req.Pod.Status.PodIP}
	}
	return ips
}

func (r *resolver) hostIPs(path string) (string, error) {
	ips := r.req.HostIPs
	if len(ips) == 0 {
		for _, ip := range r.req.Pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
	}
	if len(ips) == 0 && r.req.Pod.Status.HostIP != "" {
		ips = []string{r.req.Pod.Status.HostIP}
	}
	if len(ips) == 0 {
		if r.local {
			return "", errSkip
		}
		return "", fmt.Errorf("%s: the node's IP address is not known yet", path)
	}
	if path == "status.hostIPs" {
		return strings.Join(ips, ","), nil
	}
	return ips[0], nil
}
