package apps

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// podTemplate is a valid template labelled app=web.
func podTemplate() corev1.PodTemplateSpec {
	t := registrytest.ValidPodTemplate(corev1.RestartPolicyAlways,
		corev1.Container{Name: "nginx", Image: "nginx:1.27"},
		corev1.Container{Name: "sidecar", Image: "busybox"})
	t.Labels = map[string]string{"app": "web"}
	return t
}

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func tenMinutesOld() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "web", Namespace: "default",
		CreationTimestamp: metav1.NewTime(time.Now().Add(-10 * time.Minute))}
}

// invalidCase mutates a valid object into one failing with want.
type invalidCase[T any] struct {
	name   string
	mutate func(T)
	want   registrytest.Want
}
