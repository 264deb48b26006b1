package envvars

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestServiceEnvHook(t *testing.T) {
	c := corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "API", Value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"},
		{Name: "DB_SERVICE_HOST", Value: "mine"},
	}}
	pod := testPod(c)
	got, err := ResolveRequest(context.Background(), fake.NewClientset(), Request{
		Pod: pod, Container: &pod.Spec.Containers[0],
		ServiceEnv: map[string]string{
			"KUBERNETES_SERVICE_PORT": "443",
			"KUBERNETES_SERVICE_HOST": "10.43.0.1",
			"DB_SERVICE_HOST":         "10.43.0.7",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"API=https://10.43.0.1:443",
		"DB_SERVICE_HOST=mine",
		"KUBERNETES_SERVICE_HOST=10.43.0.1",
		"KUBERNETES_SERVICE_PORT=443",
	}
	if diff := cmp.Diff(want, flatten(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInvalidKeysReported(t *testing.T) {
	c := corev1.Container{Name: "app", EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "", false)}}
	pod := testPod(c)
	var gotSource string
	var gotKeys []string
	_, err := ResolveRequest(context.Background(), fake.NewClientset(objects()...), Request{
		Pod: pod, Container: &pod.Spec.Containers[0],
		InvalidKeys: func(source string, keys []string) { gotSource, gotKeys = source, keys },
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotSource != "configMap ns1/cfg" || !cmp.Equal(gotKeys, []string{"bad=key"}) {
		t.Errorf("InvalidKeys got %q %q", gotSource, gotKeys)
	}
}

func TestNotFoundIsAPINotFound(t *testing.T) {
	c := corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "A", ValueFrom: cmKey("x", "y", false)}}}
	pod := testPod(c)
	_, err := Resolve(context.Background(), fake.NewClientset(), pod, &pod.Spec.Containers[0], "", "h", "", nil)
	if !apierrors.IsNotFound(err) || !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want a NotFound ConfigError", err)
	}
	if err.Error() != `configmap "x" not found` {
		t.Errorf("message %q", err.Error())
	}
}

func TestTransientErrorIsNotConfigError(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("connection refused")
	})
	c := corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "A", ValueFrom: secretKey("s", "k", true)}}}
	pod := testPod(c)
	_, err := Resolve(context.Background(), client, pod, &pod.Spec.Containers[0], "", "h", "", nil)
	if err == nil || errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want a transient (non-config) error even for an optional ref", err)
	}
}

func TestObjectsFetchedOnce(t *testing.T) {
	client := fake.NewClientset(objects()...)
	c := corev1.Container{Name: "app",
		EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "", false), cmFrom("cfg", "X_", false)},
		Env: []corev1.EnvVar{
			{Name: "A", ValueFrom: cmKey("cfg", "a", false)},
			{Name: "B", ValueFrom: cmKey("cfg", "b", false)},
		}}
	pod := testPod(c)
	if _, err := Resolve(context.Background(), client, pod, &pod.Spec.Containers[0], "", "h", "", nil); err != nil {
		t.Fatal(err)
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource().Resource == "configmaps" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("%d GETs of the configmap, want 1", gets)
	}
}

func TestAddressParameters(t *testing.T) {
	c := corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "IP", ValueFrom: field("status.podIP")},
		{Name: "IPS", ValueFrom: field("status.podIPs")},
		{Name: "HOST", ValueFrom: field("status.hostIP")},
		{Name: "HOSTS", ValueFrom: field("status.hostIPs")},
		{Name: "NODE", ValueFrom: field("spec.nodeName")},
	}}
	pod := testPod(c)
	pod.Spec.NodeName = ""
	got, err := Resolve(context.Background(), fake.NewClientset(), pod, &pod.Spec.Containers[0],
		"10.1.1.1,fd01::1", "192.168.9.9, fd09::9", "node-param", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"IP=10.1.1.1", "IPS=10.1.1.1,fd01::1", "HOST=192.168.9.9", "HOSTS=192.168.9.9,fd09::9", "NODE=node-param"}
	if diff := cmp.Diff(want, flatten(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// No host IP anywhere: an error, but not a config error.
	pod.Status.HostIP = ""
	_, err = Resolve(context.Background(), fake.NewClientset(), pod, &pod.Spec.Containers[0], "", "", "", nil)
	if err == nil || errors.Is(err, ErrConfig) {
		t.Errorf("err = %v, want a non-config error for an unknown host IP", err)
	}
}

func TestResolveLocal(t *testing.T) {
	c := corev1.Container{Name: "app",
		EnvFrom: []corev1.EnvFromSource{cmFrom("cfg", "", false)},
		Env: []corev1.EnvVar{
			{Name: "POD", ValueFrom: field("metadata.name")},
			{Name: "DIR", Value: "logs/$(POD)"},
			{Name: "CM", ValueFrom: cmKey("cfg", "a", false)},
			{Name: "MEM", ValueFrom: res("", "limits.memory", "")},
			{Name: "BAD", ValueFrom: field("spec.restartPolicy")},
			{Name: "IP", ValueFrom: field("status.podIP")},
		}}
	pod := testPod(c)
	got := ResolveLocal(pod, &pod.Spec.Containers[0])
	want := []string{"POD=web-0", "DIR=logs/web-0", "IP=10.0.0.9"}
	if diff := cmp.Diff(want, flatten(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPodFieldValueVolumeFormats(t *testing.T) {
	pod := testPod(corev1.Container{Name: "app"})
	pod.Annotations = map[string]string{"b": "two\nlines", "a": "1"}
	got, err := PodFieldValue(pod, "metadata.annotations")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a=\"1\"\nb=\"two\\nlines\""; got != want {
		t.Errorf("annotations = %q, want %q", got, want)
	}
	pod.Labels = nil
	if got, _ := PodFieldValue(pod, "metadata.labels"); got != "" {
		t.Errorf("empty labels = %q", got)
	}
	if _, err := PodFieldValue(pod, "metadata.labels['bad key!']"); !errors.Is(err, ErrConfig) {
		t.Errorf("invalid subscript: err = %v", err)
	}
}
