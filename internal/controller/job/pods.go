package job

import (
	"maps"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// indexEnv is the variable that tells a container of an Indexed Job its
// completion index.
const indexEnv = "JOB_COMPLETION_INDEX"

// maxGeneratedNamePrefix is the longest generateName the API server
// keeps whole (63 less its 5 random characters).
const maxGeneratedNamePrefix = 58

// noIndex is the index of a pod of a NonIndexed Job, or of a pod whose
// index is missing or malformed.
const noIndex = -1

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isActive reports whether a pod is running or due to run: neither
// terminal nor being deleted.
func isActive(p *corev1.Pod) bool { return !isTerminal(p) && p.DeletionTimestamp == nil }

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIndex returns the completion index of a pod, from its annotation (or
// label), or noIndex.
func podIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || strconv.Itoa(i) != v {
		return noIndex
	}
	return i
}

// finishTime estimates when a terminal pod ended: its last container to
// terminate, else the last change of its conditions, else its creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, s := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if s.State.Terminated != nil && s.State.Terminated.FinishedAt.After(t) {
			t = s.State.Terminated.FinishedAt.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	return p.CreationTimestamp.Time
}

// deleteRequested estimates when a pod's deletion was requested: its
// deletion timestamp less the grace period.
func deleteRequested(p *corev1.Pod) time.Time {
	t := p.DeletionTimestamp.Time
	if p.DeletionGracePeriodSeconds != nil {
		t = t.Add(-time.Duration(*p.DeletionGracePeriodSeconds) * time.Second)
	}
	return t
}

func restartCount(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.InitContainerStatuses {
		n += s.RestartCount
	}
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// podFromJob builds a pod of the Job's template owned by the Job; for an
// Indexed Job (index >= 0) it carries the index in an annotation, a label,
// its hostname and the JOB_COMPLETION_INDEX variable of every container.
func podFromJob(j *batchv1.Job, index int) *corev1.Pod {
	t := &j.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    j.Name + "-",
			Namespace:       j.Namespace,
			Labels:          maps.Clone(t.Labels),
			Annotations:     maps.Clone(t.Annotations),
			Finalizers:      append(slices.Clone(t.Finalizers), batchv1.JobTrackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	if index >= 0 {
		addIndex(pod, j.Name, index)
	}
	return pod
}

func addIndex(pod *corev1.Pod, job string, index int) {
	v := strconv.Itoa(index)
	suffix := "-" + v + "-"
	pod.GenerateName = job[:min(len(job), maxGeneratedNamePrefix-len(suffix))] + suffix
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = v
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = v
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = job + "-" + v
	}
	env := corev1.EnvVar{Name: indexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: "metadata.annotations['" + batchv1.JobCompletionIndexAnnotation + "']",
	}}}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if !hasEnv(cs[i].Env, indexEnv) {
				cs[i].Env = append(cs[i].Env, env)
			}
		}
	}
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}
