package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func volumeListersWith(t *testing.T, objs ...runtime.Object) volumeListers {
	t.Helper()
	claims := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	volumes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.PersistentVolumeClaim:
			err = claims.Add(o)
		case *corev1.PersistentVolume:
			err = volumes.Add(o)
		case *storagev1.StorageClass:
			err = classes.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return volumeListers{
		claims:  corelisters.NewPersistentVolumeClaimLister(claims),
		volumes: corelisters.NewPersistentVolumeLister(volumes),
		classes: storagelisters.NewStorageClassLister(classes),
	}
}

func claim(name, volume, class string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	c.Spec.VolumeName = volume
	if class != "" {
		c.Spec.StorageClassName = ptr.To(class)
	}
	return c
}

// volumeIn is a volume reachable from zone.
func volumeIn(name, zone string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			labelsTerm(expr(zoneKey, corev1.NodeSelectorOpIn, zone)),
		}}},
	}}
}

// class is a class of a provisioner that can make volumes anywhere, as a
// StorageClass always names a provisioner.
func class(name string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return classOf(name, mode, "skiff.io/local-path")
}

func classOf(name string, mode storagev1.VolumeBindingMode, provisioner string) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, VolumeBindingMode: &mode, Provisioner: provisioner}
}

// availableIn is an Available volume of class reachable from zone.
func availableIn(name, zone, class string) *corev1.PersistentVolume {
	pv := volumeIn(name, zone)
	pv.Spec.StorageClassName = class
	pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	pv.Status.Phase = corev1.VolumeAvailable
	return pv
}

func claimVolume(claimName string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: claimName,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}})
	}
}

func TestVolumeBindingFilter(t *testing.T) {
	unresolvable := func(reason string) map[string]filterResult {
		r := fail(framework.UnschedulableAndUnresolvable, reason)
		return map[string]filterResult{"a": r, "c": r}
	}
	conflict := fail(framework.UnschedulableAndUnresolvable, "node(s) had volume node affinity conflict")
	deleting := claim("data", "", "")
	deleting.DeletionTimestamp = &metav1.Time{}
	lost := claim("data", "pv-gone", "")
	lost.Status.Phase = corev1.ClaimLost
	ephemeral := makePod("p", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}}
	})
	cases := []struct {
		name    string
		objects []runtime.Object
		pod     *corev1.Pod
		want    map[string]filterResult
	}{
		{"no claims", nil, makePod("p"), map[string]filterResult{"a": pass, "c": pass}},
		{"claim not found", nil, makePod("p", claimVolume("data")), unresolvable(`persistentvolumeclaim "data" not found`)},
		{"ephemeral claim not created yet", nil, ephemeral,
			unresolvable(`waiting for ephemeral volume controller to create the persistentvolumeclaim "p-scratch"`)},
		{"ephemeral claim not the pod's", []runtime.Object{claim("p-scratch", "", "")}, ephemeral,
			unresolvable("PVC default/p-scratch was not created for pod default/p (pod is not owner)")},
		{"claim being deleted", []runtime.Object{deleting}, makePod("p", claimVolume("data")),
			unresolvable(`persistentvolumeclaim "data" is being deleted`)},
		{"claim lost", []runtime.Object{lost}, makePod("p", claimVolume("data")),
			unresolvable(`persistentvolumeclaim "data" bound to non-existent persistentvolume "pv-gone"`)},
		{"bound volume in zone z1", []runtime.Object{claim("data", "pv1", ""), volumeIn("pv1", "z1")}, makePod("p", claimVolume("data")),
			map[string]filterResult{"a": pass, "c": conflict}},
		{"bound volume without affinity", []runtime.Object{claim("data", "pv1", ""), &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}}},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": pass, "c": pass}},
		{"bound volume missing", []runtime.Object{claim("data", "pv1", "")}, makePod("p", claimVolume("data")),
			unresolvable("node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)")},
		{"unbound without a class", []runtime.Object{claim("data", "", "")}, makePod("p", claimVolume("data")),
			unresolvable("pod has unbound immediate PersistentVolumeClaims")},
		{"unbound with an Immediate class", []runtime.Object{claim("data", "", "fast"), class("fast", storagev1.VolumeBindingImmediate)},
			makePod("p", claimVolume("data")), unresolvable("pod has unbound immediate PersistentVolumeClaims")},
		{"unbound with a WaitForFirstConsumer class", []runtime.Object{claim("data", "", "local"), class("local", storagev1.VolumeBindingWaitForFirstConsumer)},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": pass, "c": pass}},
		{"one waiting, one bound", []runtime.Object{claim("data", "", "local"), class("local", storagev1.VolumeBindingWaitForFirstConsumer),
			claim("logs", "pv2", ""), volumeIn("pv2", "z2")},
			makePod("p", claimVolume("data"), claimVolume("logs")), map[string]filterResult{"a": conflict, "c": pass}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := &volumeBinding{listers: volumeListersWith(t, c.objects...)}
			checkFilter(t, runFilter(t, pl, c.pod, cluster(nodes(
				makeNode("a", nodeLabels(zoneKey, "z1")), makeNode("c", nodeLabels(zoneKey, "z2"))))), c.want)
		})
	}
}

// TestVolumeBindingUnbound checks where unbound WaitForFirstConsumer
// claims can be served: on a node an available volume fits (each claim
// its own), or where the class can provision.
func TestVolumeBindingUnbound(t *testing.T) {
	bindConflict := fail(framework.UnschedulableAndUnresolvable, "node(s) didn't find available persistent volumes to bind")
	static := classOf("static", storagev1.VolumeBindingWaitForFirstConsumer, "kubernetes.io/no-provisioner")
	zoned := class("zoned", storagev1.VolumeBindingWaitForFirstConsumer)
	zoned.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
		{Key: zoneKey, Values: []string{"z2"}}}}}
	selected := claim("data", "", "local")
	selected.Annotations = map[string]string{"volume.kubernetes.io/selected-node": "c"}
	big := claim("data", "", "static")
	big.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}
	prebound := availableIn("pv-pre", "z1", "other")
	prebound.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
	onBoth := availableIn("pv-both", "z1", "static")
	onBoth.Spec.NodeAffinity = nil
	cases := []struct {
		name    string
		objects []runtime.Object
		pod     *corev1.Pod
		want    map[string]filterResult
	}{
		{"static class, volume in z1", []runtime.Object{claim("data", "", "static"), static, availableIn("pv1", "z1", "static")},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": pass, "c": bindConflict}},
		{"static class, no volume", []runtime.Object{claim("data", "", "static"), static},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": bindConflict}},
		{"static class, volume too small", []runtime.Object{big, static, availableIn("pv1", "z1", "static")},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": bindConflict}},
		{"static class, volume of another class", []runtime.Object{claim("data", "", "static"), static, availableIn("pv1", "z1", "gold")},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": bindConflict}},
		{"static class, volume already bound", []runtime.Object{claim("data", "", "static"), static, func() *corev1.PersistentVolume {
			pv := availableIn("pv1", "z1", "static")
			pv.Status.Phase = corev1.VolumeBound
			return pv
		}()}, makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": bindConflict}},
		{"two claims, one volume", []runtime.Object{claim("data", "", "static"), claim("logs", "", "static"), static, availableIn("pv1", "z1", "static")},
			makePod("p", claimVolume("data"), claimVolume("logs")), map[string]filterResult{"a": bindConflict, "c": bindConflict}},
		{"two claims, two volumes", []runtime.Object{claim("data", "", "static"), claim("logs", "", "static"), static,
			availableIn("pv1", "z1", "static"), onBoth},
			makePod("p", claimVolume("data"), claimVolume("logs")), map[string]filterResult{"a": pass, "c": bindConflict}},
		{"volume pre-bound to the claim", []runtime.Object{claim("data", "", "static"), static, prebound, availableIn("pv2", "z2", "static")},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": pass, "c": bindConflict}},
		{"provisioner, allowed topology z2", []runtime.Object{claim("data", "", "zoned"), zoned},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": pass}},
		{"provisioner, a volume in z1 too", []runtime.Object{claim("data", "", "zoned"), zoned, availableIn("pv1", "z1", "zoned")},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": pass, "c": pass}},
		{"selected node", []runtime.Object{selected, class("local", storagev1.VolumeBindingWaitForFirstConsumer)},
			makePod("p", claimVolume("data")), map[string]filterResult{"a": bindConflict, "c": pass}},
		{"bound conflict and unbound conflict together", []runtime.Object{claim("data", "", "static"), static,
			claim("logs", "pv2", ""), volumeIn("pv2", "z2")},
			makePod("p", claimVolume("data"), claimVolume("logs")), map[string]filterResult{
				"a": fail(framework.UnschedulableAndUnresolvable, "node(s) had volume node affinity conflict",
					"node(s) didn't find available persistent volumes to bind"),
				"c": bindConflict}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := &volumeBinding{listers: volumeListersWith(t, c.objects...)}
			checkFilter(t, runFilter(t, pl, c.pod, cluster(nodes(
				makeNode("a", nodeLabels(zoneKey, "z1")), makeNode("c", nodeLabels(zoneKey, "z2"))))), c.want)
		})
	}
}
