package batch

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Column descriptions shared by the Job and CronJob tables.
const (
	containersDescription = "Names of each container in the template."
	imagesDescription     = "Images referenced by each container in the template."
)

// containerCells lays out the container names and images of a template as
// the wide columns show them.
func containerCells(t *corev1.PodTemplateSpec) (string, string) {
	names := make([]string, 0, len(t.Spec.Containers))
	images := make([]string, 0, len(t.Spec.Containers))
	for _, c := range t.Spec.Containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}
