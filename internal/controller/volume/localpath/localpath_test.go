package localpath

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/controller/volume/persistentvolume"
)

func testClaim(opts ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	class := ClassName
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop", UID: "u1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func testNode(name, root string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	if root != "" {
		n.Annotations = map[string]string{StorageRootAnnotation: root}
	}
	return n
}

func TestProvision(t *testing.T) {
	cases := []struct {
		name     string
		node     *corev1.Node
		wantPath string
		wantHost string
	}{
		{"published root", testNode("n1", "/data/agent/storage"), "/data/agent/storage/pvc-u1_shop_data", "n1"},
		{"default root", testNode("n2", ""), "/var/lib/skiff/agent/storage/pvc-u1_shop_data", "n2"},
		{"hostname label differs from the name", func() *corev1.Node {
			n := testNode("n3", "/s")
			n.Labels[corev1.LabelHostname] = "host-3"
			return n
		}(), "/s/pvc-u1_shop_data", "host-3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pv, err := New().Provision(context.Background(), persistentvolume.ProvisionRequest{
				PVName: "pvc-u1", Claim: testClaim(), Class: DefaultStorageClass(), SelectedNode: tc.node})
			if err != nil {
				t.Fatal(err)
			}
			if pv.Spec.Local == nil || pv.Spec.Local.Path != tc.wantPath {
				t.Errorf("source %+v, want local %s", pv.Spec.PersistentVolumeSource, tc.wantPath)
			}
			if got := NodeOf(pv); got != tc.wantHost {
				t.Errorf("pinned to %q, want %q", got, tc.wantHost)
			}
			if !slices.Equal(pv.Finalizers, []string{CleanupFinalizer}) {
				t.Errorf("finalizers %v", pv.Finalizers)
			}
		})
	}
}

func TestProvisionRefuses(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	cases := []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		node  *corev1.Node
		want  string
	}{
		{"no node", testClaim(), nil, "no node was specified"},
		{"block", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeMode = &block }), testNode("n1", ""), "block volumes"},
		{"ReadWriteMany", testClaim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), testNode("n1", ""), "access mode ReadWriteMany is not supported"},
		{"selector", testClaim(func(c *corev1.PersistentVolumeClaim) { c.Spec.Selector = &metav1.LabelSelector{} }), testNode("n1", ""), "Selector"},
		{"relative root", testClaim(), testNode("n1", "storage"), "not an absolute path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Provision(context.Background(), persistentvolume.ProvisionRequest{
				PVName: "pvc-u1", Claim: tc.claim, Class: DefaultStorageClass(), SelectedNode: tc.node})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultStorageClass(t *testing.T) {
	c := DefaultStorageClass()
	if c.Name != "local-path" || c.Provisioner != "skiff.io/local-path" ||
		c.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
		*c.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer ||
		*c.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || !*c.AllowVolumeExpansion {
		t.Errorf("%+v", c)
	}
}

func TestEnsureDefaultStorageClass(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	for range 2 {
		if err := EnsureDefaultStorageClass(ctx, client); err != nil {
			t.Fatal(err)
		}
	}
	got, err := client.StorageV1().StorageClasses().Get(ctx, ClassName, metav1.GetOptions{})
	if err != nil || got.Provisioner != Name {
		t.Fatalf("%v %v", got, err)
	}
	// The user demotes it: a restart must not undo that.
	got.Annotations = nil
	if _, err := client.StorageV1().StorageClasses().Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDefaultStorageClass(ctx, client); err != nil {
		t.Fatal(err)
	}
	got, _ = client.StorageV1().StorageClasses().Get(ctx, ClassName, metav1.GetOptions{})
	if len(got.Annotations) != 0 {
		t.Errorf("existing class changed: %v", got.Annotations)
	}
}

// TestWithController runs the volume controller with this provisioner: a
// claim of the default class whose pod is on n1 gets a volume in n1's
// storage root, pinned to n1, that the node agent must clean up.
func TestWithController(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	claim := testClaim()
	claim.Spec.StorageClassName = nil // the default class is assigned
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"},
		Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
	}
	client := fake.NewClientset(claim, pod, testNode("n1", "/srv/skiff/storage"))
	if err := EnsureDefaultStorageClass(ctx, client); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	c := persistentvolume.New(client, factory, slog.New(slog.DiscardHandler), New())
	factory.Start(ctx.Done())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx, 1) }()
	var pv *corev1.PersistentVolume
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := client.CoreV1().PersistentVolumeClaims("shop").Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase == corev1.ClaimBound {
			if pv, err = client.CoreV1().PersistentVolumes().Get(ctx, got.Spec.VolumeName, metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim not bound: %+v %v", got.Status, got.Annotations)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pv.Spec.Local == nil || pv.Spec.Local.Path != "/srv/skiff/storage/pvc-u1_shop_data" || NodeOf(pv) != "n1" || !IsProvisioned(pv) {
		t.Errorf("volume %+v annotations %v", pv.Spec, pv.Annotations)
	}
	if !slices.Contains(pv.Finalizers, CleanupFinalizer) || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Spec.StorageClassName != ClassName {
		t.Errorf("finalizers %v policy %s class %q", pv.Finalizers, pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}
