package deployment

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func podTemplate(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "web", Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 80}}}},
			TerminationGracePeriodSeconds: ptr.To[int64](30),
		},
	}
}

func TestComputeHashStable(t *testing.T) {
	a := computeHash(podTemplate("nginx:1"), nil)
	for i := 0; i < 20; i++ {
		tpl := podTemplate("nginx:1")
		// Same content, built in another order and at other addresses.
		tpl.Labels = map[string]string{"tier": "front"}
		tpl.Labels["app"] = "web"
		if got := computeHash(tpl, nil); got != a {
			t.Fatalf("hash changed for the same template: %s then %s", a, got)
		}
	}
	if got := computeHash(podTemplate("nginx:1").DeepCopy(), nil); got != a {
		t.Errorf("a deep copy hashes to %s, want %s", got, a)
	}
	if strings.Trim(a, "bcdfghjklmnpqrstvwxz2456789") != "" || len(a) == 0 {
		t.Errorf("hash %q has characters unsafe for names", a)
	}
}

func TestComputeHashChanges(t *testing.T) {
	base := computeHash(podTemplate("nginx:1"), nil)
	restarted := podTemplate("nginx:1")
	restarted.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-25T19:00:00Z"}
	seen := map[string]string{base: "base"}
	for name, h := range map[string]string{
		"image":       computeHash(podTemplate("nginx:2"), nil),
		"restart":     computeHash(restarted, nil),
		"collision 0": computeHash(podTemplate("nginx:1"), ptr.To[int32](0)),
		"collision 1": computeHash(podTemplate("nginx:1"), ptr.To[int32](1)),
	} {
		if other, dup := seen[h]; dup {
			t.Errorf("%s hashes like %s: %s", name, other, h)
		}
		seen[h] = name
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	a, b := podTemplate("nginx:1"), podTemplate("nginx:1")
	b.Labels[hashLabel] = "abc"
	if !equalIgnoreHash(a, b) {
		t.Error("templates differing only in pod-template-hash must be equal")
	}
	if _, ok := b.Labels[hashLabel]; !ok {
		t.Error("equalIgnoreHash must not change its arguments")
	}
	if equalIgnoreHash(a, podTemplate("nginx:2")) {
		t.Error("different images must differ")
	}
}

func TestNewReplicaSetFor(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d-uid"},
		Spec: appsv1.DeploymentSpec{
			Selector:        &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template:        *podTemplate("nginx:1"),
			MinReadySeconds: 5,
		},
	}
	rs := newReplicaSetFor(d)
	hash := computeHash(&d.Spec.Template, nil)
	if rs.Name != "web-"+hash || rs.Namespace != "ns" {
		t.Errorf("name %s/%s, want ns/web-%s", rs.Namespace, rs.Name, hash)
	}
	for what, got := range map[string]string{
		"labels": rs.Labels[hashLabel], "selector": rs.Spec.Selector.MatchLabels[hashLabel],
		"template": rs.Spec.Template.Labels[hashLabel],
	} {
		if got != hash {
			t.Errorf("%s pod-template-hash = %q, want %q", what, got, hash)
		}
	}
	if _, ok := d.Spec.Template.Labels[hashLabel]; ok || len(d.Spec.Selector.MatchLabels) != 1 {
		t.Error("the Deployment's template and selector must stay unchanged")
	}
	ref := metav1.GetControllerOf(rs)
	if ref == nil || ref.UID != "d-uid" || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" ||
		!ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("controller reference %+v", ref)
	}
	if rs.Spec.MinReadySeconds != 5 || ptr.Deref(rs.Spec.Replicas, -1) != 0 {
		t.Errorf("minReadySeconds %d replicas %v", rs.Spec.MinReadySeconds, rs.Spec.Replicas)
	}
	d.Status.CollisionCount = ptr.To[int32](1)
	if newReplicaSetFor(d).Name == rs.Name {
		t.Error("a collision count must change the name")
	}
}
