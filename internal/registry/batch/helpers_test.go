package batch

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// jobPodTemplate is a valid job pod template.
func jobPodTemplate() corev1.PodTemplateSpec {
	return registrytest.ValidPodTemplate(corev1.RestartPolicyNever, corev1.Container{Name: "pi", Image: "perl:5.34"})
}

func tenMinutesAgo() metav1.Time { return metav1.NewTime(time.Now().Add(-10 * time.Minute)) }

// invalidCase mutates a valid object into one failing with want.
type invalidCase[T any] struct {
	name   string
	mutate func(T)
	want   registrytest.Want
}
