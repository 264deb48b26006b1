package envvars

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	criv1 "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const ns = "ns1"

func objects() []runtime.Object {
	return []runtime.Object{
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cfg"},
			Data:       map[string]string{"b": "2", "a": "1", "bad=key": "x"},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "elsewhere"},
			Data:       map[string]string{"k": "v"},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sec"},
			Data:       map[string][]byte{"password": []byte("hunter2"), "user": []byte("admin")},
		},
	}
}

func testPod(c corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "web-0", UID: "uid-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "hi \"there\""},
		},
		Spec: corev1.PodSpec{
			NodeName:           "node-a",
			ServiceAccountName: "sa",
			Containers: []corev1.Container{c, {
				Name: "side",
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
				},
			}},
		},
		Status: corev1.PodStatus{
			PodIP:  "10.0.0.9",
			PodIPs: []corev1.PodIP{{IP: "10.0.0.9"}, {IP: "fd00::9"}},
			HostIP: "192.168.1.2",
		},
	}
}

func kv(pairs ...string) []*criv1.KeyValue {
	var out []*criv1.KeyValue
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, &criv1.KeyValue{Key: pairs[i], Value: []byte(pairs[i+1])})
	}
	return out
}

func flatten(kvs []*criv1.KeyValue) []string {
	out := make([]string, 0, len(kvs))
	for _, e := range kvs {
		out = append(out, e.Key+"="+string(e.Value))
	}
	return out
}

func cmKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
}

func secretKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
}

func field(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}

func res(container, name, divisor string) *corev1.EnvVarSource {
	sel := &corev1.ResourceFieldSelector{ContainerName: container, Resource: name}
	if divisor != "" {
		sel.Divisor = resource.MustParse(divisor)
	}
	return &corev1.EnvVarSource{ResourceFieldRef: sel}
}

func cmFrom(name, prefix string, optional bool) corev1.EnvFromSource {
	return corev1.EnvFromSource{Prefix: prefix, ConfigMapRef: &corev1.ConfigMapEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: &optional}}
}

func secretFrom(name, prefix string, optional bool) corev1.EnvFromSource {
	return corev1.EnvFromSource{Prefix: prefix, SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: &optional}}
}

var allocatable = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("4"),
	corev1.ResourceMemory:           resource.MustParse("8Gi"),
	corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
}

type envCase struct {
	name    string
	c       corev1.Container
	want    []*criv1.KeyValue
	wantErr string // substring; also must be a ConfigError
}

func runEnvCases(t *testing.T, cases []envCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Name = "app"
			pod := testPod(tc.c)
			client := fake.NewClientset(objects()...)
			got, err := Resolve(context.Background(), client, pod, &pod.Spec.Containers[0],
				"", "192.168.1.2", "node-a", allocatable)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err %v is not ErrConfig", err)
				}
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("err %v is not a *ConfigError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(flatten(tc.want), flatten(got)); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveEnvFrom(t *testing.T) {
	runEnvCases(t, []envCase{
		{name: "configmap sorted, invalid key skipped",
			c:    corev1.Container{EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "", false)}},
			want: kv("a", "1", "b", "2")},
		{name: "prefix",
			c:    corev1.Container{EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "CFG_", false)}},
			want: kv("CFG_a", "1", "CFG_b", "2")},
		{name: "secret",
			c:    corev1.Container{EnvFrom: []corev1.EnvFromSource{secretFrom("sec", "S_", false)}},
			want: kv("S_password", "hunter2", "S_user", "admin")},
		{name: "later source overrides in place",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				cmFrom("cfg", "", false),
				secretFrom("sec", "", false),
			}, Env: []corev1.EnvVar{{Name: "a", Value: "override"}, {Name: "z", Value: "$(user)"}}},
			want: kv("a", "override", "b", "2", "password", "hunter2", "user", "admin", "z", "admin")},
		{name: "optional missing configmap and secret",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				cmFrom("nope", "", true), secretFrom("nope", "", true),
			}, Env: []corev1.EnvVar{{Name: "X", Value: "1"}}},
			want: kv("X", "1")},
		{name: "required missing configmap",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{cmFrom("nope", "", false)}},
			wantErr: `configmap "nope" not found`},
		{name: "required missing secret",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{secretFrom("nope", "", false)}},
			wantErr: `secret "nope" not found`},
		{name: "other namespace is not visible",
			c:       corev1.Container{EnvFrom: []corev1.EnvFromSource{cmFrom("elsewhere", "", false)}},
			wantErr: `configmap "elsewhere" not found`},
	})
}

func TestResolveValuesAndExpansion(t *testing.T) {
	runEnvCases(t, []envCase{
		{name: "literal, empty and expansion",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "a"},
				{Name: "EMPTY"},
				{Name: "B", Value: "$(A)-$(LATER)-$$(A)-$$$(A)"},
				{Name: "LATER", Value: "l"},
				{Name: "SELF", Value: "x$(SELF)"},
				{Name: "A", Value: "$(A)$(A)"},
			}},
			want: kv("A", "aa", "EMPTY", "", "B", "a-$(LATER)-$(A)-$a", "LATER", "l", "SELF", "x$(SELF)")},
		{name: "expansion sees envFrom",
			c: corev1.Container{EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "C_", false)},
				Env: []corev1.EnvVar{{Name: "URL", Value: "http://$(C_a):$(C_b)"}}},
			want: kv("C_a", "1", "C_b", "2", "URL", "http://1:2")},
		{name: "valueFrom is not expanded",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "a"},
				{Name: "N", ValueFrom: field("metadata.annotations['note']")},
			}},
			want: kv("A", "a", "N", `hi "there"`)},
	})
}

func TestResolveKeyRefs(t *testing.T) {
	runEnvCases(t, []envCase{
		{name: "configmap and secret keys",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", ValueFrom: cmKey("cfg", "a", false)},
				{Name: "P", ValueFrom: secretKey("sec", "password", false)},
				{Name: "U", Value: "$(P)@$(A)"},
			}},
			want: kv("A", "1", "P", "hunter2", "U", "hunter2@1")},
		{name: "optional misses leave the variable out",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", ValueFrom: cmKey("cfg", "missing", true)},
				{Name: "B", ValueFrom: cmKey("nope", "a", true)},
				{Name: "C", ValueFrom: secretKey("sec", "missing", true)},
				{Name: "D", ValueFrom: secretKey("nope", "x", true)},
				{Name: "E", Value: "[$(A)]"},
			}},
			want: kv("E", "[$(A)]")},
		{name: "missing configmap key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: cmKey("cfg", "y", false)}}},
			wantErr: "couldn't find key y in ConfigMap ns1/cfg"},
		{name: "missing secret key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: secretKey("sec", "y", false)}}},
			wantErr: "couldn't find key y in Secret ns1/sec"},
		{name: "missing configmap for key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: cmKey("x", "y", false)}}},
			wantErr: `configmap "x" not found`},
		{name: "missing secret for key",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "A", ValueFrom: secretKey("x", "y", false)}}},
			wantErr: `secret "x" not found`},
		{name: "optional miss then required use of the same configmap",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", ValueFrom: cmKey("x", "y", true)},
				{Name: "B", ValueFrom: cmKey("x", "y", false)},
			}},
			wantErr: `configmap "x" not found`},
		{name: "fileKeyRef unsupported",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "F", ValueFrom: &corev1.EnvVarSource{
				FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}}}},
			wantErr: "fileKeyRef is not supported"},
	})
}

func TestResolveFieldRefs(t *testing.T) {
	runEnvCases(t, []envCase{
		{name: "all fields",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "NAME", ValueFrom: field("metadata.name")},
				{Name: "NS", ValueFrom: field("metadata.namespace")},
				{Name: "UID", ValueFrom: field("metadata.uid")},
				{Name: "APP", ValueFrom: field("metadata.labels['app']")},
				{Name: "NOLABEL", ValueFrom: field("metadata.labels['missing']")},
				{Name: "NOTE", ValueFrom: field("metadata.annotations['note']")},
				{Name: "LABELS", ValueFrom: field("metadata.labels")},
				{Name: "NODE", ValueFrom: field("spec.nodeName")},
				{Name: "SA", ValueFrom: field("spec.serviceAccountName")},
				{Name: "HOST", ValueFrom: field("status.hostIP")},
				{Name: "HOSTS", ValueFrom: field("status.hostIPs")},
				{Name: "IP", ValueFrom: field("status.podIP")},
				{Name: "IPS", ValueFrom: field("status.podIPs")},
			}},
			want: kv("NAME", "web-0", "NS", ns, "UID", "uid-1", "APP", "web", "NOLABEL", "",
				"NOTE", `hi "there"`, "LABELS", "app=\"web\"\ntier=\"front\"", "NODE", "node-a", "SA", "sa",
				"HOST", "192.168.1.2", "HOSTS", "192.168.1.2", "IP", "10.0.0.9", "IPS", "10.0.0.9,fd00::9")},
		{name: "unsupported field",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("spec.restartPolicy")}}},
			wantErr: "unsupported fieldPath: spec.restartPolicy"},
		{name: "subscript on a plain field",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: field("metadata.name['x']")}}},
			wantErr: "does not support subscript"},
		{name: "bad api version",
			c: corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v2", FieldPath: "metadata.name"}}}}},
			wantErr: "unsupported pod version: v2"},
	})
}

func TestResolveResourceFieldRefs(t *testing.T) {
	limited := corev1.ResourceRequirements{
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
			"hugepages-2Mi":       resource.MustParse("4Mi"),
		},
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("250m"),
			corev1.ResourceMemory: resource.MustParse("1000001"),
		},
	}
	runEnvCases(t, []envCase{
		{name: "limits and requests with divisors",
			c: corev1.Container{Resources: limited, Env: []corev1.EnvVar{
				{Name: "CPU", ValueFrom: res("", "limits.cpu", "")},
				{Name: "MCPU", ValueFrom: res("", "limits.cpu", "1m")},
				{Name: "MEM", ValueFrom: res("", "limits.memory", "")},
				{Name: "MEMMI", ValueFrom: res("", "limits.memory", "1Mi")},
				{Name: "RCPU", ValueFrom: res("", "requests.cpu", "1m")},
				{Name: "RMEM_M", ValueFrom: res("", "requests.memory", "1M")},
				{Name: "REPH", ValueFrom: res("", "requests.ephemeral-storage", "")},
				{Name: "HUGE", ValueFrom: res("", "limits.hugepages-2Mi", "1Mi")},
			}},
			want: kv("CPU", "1", "MCPU", "500", "MEM", "67108864", "MEMMI", "64", "RCPU", "250",
				"RMEM_M", "2", "REPH", "0", "HUGE", "4")},
		{name: "unset limits default to node allocatable",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "CPU", ValueFrom: res("", "limits.cpu", "")},
				{Name: "MEM", ValueFrom: res("", "limits.memory", "1Gi")},
				{Name: "EPH", ValueFrom: res("", "limits.ephemeral-storage", "1Gi")},
			}},
			want: kv("CPU", "4", "MEM", "8", "EPH", "100")},
		{name: "other container by name",
			c: corev1.Container{Env: []corev1.EnvVar{
				{Name: "SIDE", ValueFrom: res("side", "limits.memory", "1Mi")},
				{Name: "SIDECPU", ValueFrom: res("side", "limits.cpu", "1m")},
			}},
			want: kv("SIDE", "32", "SIDECPU", "4000")},
		{name: "unknown container",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: res("ghost", "limits.cpu", "")}}},
			wantErr: "container ghost not found"},
		{name: "unsupported resource",
			c:       corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: res("", "limits.gpu", "")}}},
			wantErr: "unsupported container resource"},
	})
}

func TestResolvePodLevelLimitFallback(t *testing.T) {
	c := corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "MEM", ValueFrom: res("", "limits.memory", "1Mi")},
		{Name: "CPU", ValueFrom: res("", "limits.cpu", "1m")},
	}}
	pod := testPod(c)
	pod.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("256Mi")}}
	got, err := Resolve(context.Background(), fake.NewClientset(), pod, &pod.Spec.Containers[0], "", "h", "", allocatable)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"MEM=256", "CPU=4000"}, flatten(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
