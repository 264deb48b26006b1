package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func podTestRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ReplicationControllerSpec{
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}}},
			},
		},
	}
}

func TestReplicationControllerDefaults(t *testing.T) {
	rc := podTestRC()
	rcStrategy.Default(rc)
	want := map[string]string{"app": "web", "tier": "front"}
	if *rc.Spec.Replicas != 1 || !reflect.DeepEqual(rc.Spec.Selector, want) || !reflect.DeepEqual(rc.Labels, want) {
		t.Errorf("defaults: replicas %d selector %v labels %v", *rc.Spec.Replicas, rc.Spec.Selector, rc.Labels)
	}
	c := rc.Spec.Template.Spec.Containers[0]
	if rc.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("template not defaulted: %+v", rc.Spec.Template.Spec)
	}

	set := podTestRC()
	set.Labels = map[string]string{"owner": "me"}
	set.Spec.Selector = map[string]string{"app": "web"}
	set.Spec.Replicas = ptr.To[int32](0)
	rcStrategy.Default(set)
	if *set.Spec.Replicas != 0 || len(set.Spec.Selector) != 1 || set.Labels["owner"] != "me" || len(set.Labels) != 1 {
		t.Errorf("set values overwritten: %+v %+v", set.Spec, set.Labels)
	}
}

func TestReplicationControllerValidation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   []registrytest.Want
	}{
		{"valid", func(*corev1.ReplicationController) {}, nil},
		{"selector does not match", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "db"} },
			[]registrytest.Want{registrytest.Invalid("spec.template.metadata.labels", "`selector` does not match template `labels`")}},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr.To[int32](-1) },
			[]registrytest.Want{registrytest.Invalid("spec.replicas", "must be greater than or equal to 0")}},
		{"negative minReadySeconds", func(rc *corev1.ReplicationController) { rc.Spec.MinReadySeconds = -1 },
			[]registrytest.Want{registrytest.Invalid("spec.minReadySeconds", "must be greater than or equal to 0")}},
		{"no selector", func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil },
			[]registrytest.Want{registrytest.Required("spec.selector", "")}},
		{"no template", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil },
			[]registrytest.Want{registrytest.Required("spec.template", "")}},
		{"restartPolicy other than Always", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		},
			[]registrytest.Want{registrytest.NotSupported("spec.template.spec.restartPolicy", `supported values: "Always"`)}},
		{"activeDeadlineSeconds", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
		},
			[]registrytest.Want{registrytest.Forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicationController is not Supported")}},
		{"template errors", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Image = "" },
			[]registrytest.Want{registrytest.Required("spec.template.spec.containers[0].image", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := podTestRC()
			rcStrategy.Default(rc)
			c.mutate(rc)
			registrytest.ExpectExactly(t, rcStrategy.Validate(rc), registrytest.ExactDetails(c.want...)...)
		})
	}
}

func TestReplicationControllerStatusValidation(t *testing.T) {
	rc := podTestRC()
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 3, AvailableReplicas: 1, FullyLabeledReplicas: -1}
	registrytest.ExpectExactly(t, rcStrategy.ValidateStatus(rc, podTestRC()), registrytest.ExactDetails(
		registrytest.Invalid("status.fullyLabeledReplicas", "must be greater than or equal to 0"),
		registrytest.Invalid("status.readyReplicas", "cannot be greater than status.replicas"),
	)...)
}

func TestReplicationControllerTable(t *testing.T) {
	rc := podTestRC()
	rcStrategy.Default(rc)
	rc.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
	rc.Spec.Template.Spec.Containers = append(rc.Spec.Template.Spec.Containers, corev1.Container{Name: "log", Image: "fluentd"})
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 0}
	want := []interface{}{"web", int64(1), int64(1), int64(0), "3h", "app,log", "nginx:1.25,fluentd", "app=web,tier=front"}
	if got := rcTable.Row(rc); !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v, want %#v", got, want)
	}
	var names []string
	for _, c := range rcTable.Columns {
		names = append(names, c.Name)
		if (c.Priority == 1) != (c.Name == "Containers" || c.Name == "Images" || c.Name == "Selector") {
			t.Errorf("column %s has priority %d", c.Name, c.Priority)
		}
	}
	if !reflect.DeepEqual(names, []string{"Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"}) {
		t.Errorf("columns = %v", names)
	}
}

func TestPodTemplateResource(t *testing.T) {
	pt := &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "tmpl", Namespace: "default"},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		},
	}
	podTemplateStrategy.Default(pt)
	if pt.Template.Spec.DNSPolicy != corev1.DNSClusterFirst || pt.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("template not defaulted: %+v", pt.Template.Spec)
	}
	registrytest.ExpectValid(t, podTemplateStrategy.Validate(pt))

	podTemplateStrategy.PrepareForCreate(pt)
	updated := pt.DeepCopy()
	updated.Template.Spec.Containers[0].Image = "nginx:2"
	podTemplateStrategy.PrepareForUpdate(updated, pt)
	if pt.Generation != 1 || updated.Generation != 2 {
		t.Errorf("generation = %d then %d, want 1 then 2", pt.Generation, updated.Generation)
	}

	bad := pt.DeepCopy()
	bad.Template.Spec.Containers[0].Name = ""
	registrytest.ExpectExactly(t, podTemplateStrategy.Validate(bad), registrytest.Required("template.spec.containers[0].name", ""))

	want := []interface{}{"tmpl", "app", "nginx", "app=web"}
	if got := podTemplateTable.Row(pt); !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v, want %#v", got, want)
	}
	pt.Template.Labels = nil
	if got := podTemplateTable.Row(pt)[3]; got != "<none>" {
		t.Errorf("empty labels cell = %q", got)
	}
}
