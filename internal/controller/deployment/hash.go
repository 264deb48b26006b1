package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"
)

// hashLabel is the label that keeps the ReplicaSets of one Deployment
// apart: pod-template-hash.
const hashLabel = appsv1.DefaultDeploymentUniqueLabelKey

// computeHash names a pod template as Kubernetes does, so ReplicaSet names
// match kube-controller-manager's: FNV-32a over the template's deep dump,
// then the collision count as 8 little-endian bytes (4 used) if set, the
// decimal sum made safe for names.
func computeHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		_, _ = h.Write(b)
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// equalIgnoreHash compares two pod templates, ignoring pod-template-hash
// (the Deployment's template has none; its ReplicaSets' have one each).
func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, hashLabel)
	delete(b.Labels, hashLabel)
	return apiequality.Semantic.DeepEqual(a, b)
}

// withLabel returns a copy of m with k=v.
func withLabel(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// selectorWithLabel returns a copy of sel that also requires k=v.
func selectorWithLabel(sel *metav1.LabelSelector, k, v string) *metav1.LabelSelector {
	if sel == nil {
		sel = &metav1.LabelSelector{}
	}
	out := sel.DeepCopy()
	out.MatchLabels = withLabel(out.MatchLabels, k, v)
	return out
}

// newReplicaSetFor builds (without replicas or annotations) the ReplicaSet
// for d's current template: named <deployment>-<hash>, with the hash in its
// labels, selector and template labels, controlled by d.
func newReplicaSetFor(d *appsv1.Deployment) *appsv1.ReplicaSet {
	template := *d.Spec.Template.DeepCopy()
	hash := computeHash(&template, d.Status.CollisionCount)
	template.Labels = withLabel(d.Spec.Template.Labels, hashLabel, hash)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, controllerKind)},
			Labels:          maps.Clone(template.Labels),
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        new(int32),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selectorWithLabel(d.Spec.Selector, hashLabel, hash),
			Template:        template,
		},
	}
}
