package persistentvolume

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/skiff/skiff/internal/controller/controllertest"
)

const ns = "default"

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// fixture is a controller over a fake clientset whose caches are filled
// from the fake API before each sync, so a sync sees what the test (and
// earlier syncs) left there.
type fixture struct {
	t       *testing.T
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	c       *Controller
	rec     *record.FakeRecorder
	prov    *fakeProvisioner
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := newClient(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	prov := &fakeProvisioner{name: "example.com/fake"}
	c := New(client, factory, slog.New(slog.DiscardHandler), prov)
	f := &fixture{t: t, client: client, factory: factory, c: c, rec: record.NewFakeRecorder(1000), prov: prov}
	c.recorder = f.rec
	c.now = func() time.Time { return t0 }
	f.refresh()
	return f
}

// newClient returns a fake clientset that deletes claims and volumes as
// the API server does: an object with finalizers gets a
// deletionTimestamp and goes when its last finalizer is removed.
func newClient(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objs...)
	for _, res := range []string{"persistentvolumeclaims", "persistentvolumes"} {
		client.PrependReactor("delete", res, func(a clienttesting.Action) (bool, runtime.Object, error) {
			return graceful(client, a.(clienttesting.DeleteAction))
		})
		client.PrependReactor("update", res, func(a clienttesting.Action) (bool, runtime.Object, error) {
			return finalize(client, a.(clienttesting.UpdateAction))
		})
	}
	return client
}

func graceful(client *fake.Clientset, a clienttesting.DeleteAction) (bool, runtime.Object, error) {
	obj, err := client.Tracker().Get(a.GetResource(), a.GetNamespace(), a.GetName())
	if err != nil {
		return true, nil, err
	}
	m, _ := meta.Accessor(obj)
	if len(m.GetFinalizers()) == 0 {
		return true, nil, client.Tracker().Delete(a.GetResource(), a.GetNamespace(), a.GetName())
	}
	if m.GetDeletionTimestamp() == nil {
		now := metav1.NewTime(t0)
		m.SetDeletionTimestamp(&now)
		return true, nil, client.Tracker().Update(a.GetResource(), obj, a.GetNamespace())
	}
	return true, nil, nil
}

func finalize(client *fake.Clientset, a clienttesting.UpdateAction) (bool, runtime.Object, error) {
	m, _ := meta.Accessor(a.GetObject())
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 || a.GetSubresource() != "" {
		return false, nil, nil
	}
	return true, a.GetObject(), client.Tracker().Delete(a.GetResource(), a.GetNamespace(), m.GetName())
}

// refresh replaces the informer caches with the objects in the fake API.
func (f *fixture) refresh() {
	f.t.Helper()
	ctx := context.Background()
	core := f.client.CoreV1()
	claims, err := core.PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	f.check(err)
	pvs, err := core.PersistentVolumes().List(ctx, metav1.ListOptions{})
	f.check(err)
	pods, err := core.Pods("").List(ctx, metav1.ListOptions{})
	f.check(err)
	nodes, err := core.Nodes().List(ctx, metav1.ListOptions{})
	f.check(err)
	classes, err := f.client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	f.check(err)
	controllertest.Replace(f.t, f.factory.Core().V1().PersistentVolumeClaims().Informer(), controllertest.ListOf(claims.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().PersistentVolumes().Informer(), controllertest.ListOf(pvs.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Pods().Informer(), controllertest.ListOf(pods.Items))
	controllertest.Replace(f.t, f.factory.Core().V1().Nodes().Informer(), controllertest.ListOf(nodes.Items))
	controllertest.Replace(f.t, f.factory.Storage().V1().StorageClasses().Informer(), controllertest.ListOf(classes.Items))
}

func (f *fixture) check(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// syncClaim runs one sync of a claim over fresh caches.
func (f *fixture) syncClaim(name string) error {
	f.t.Helper()
	f.refresh()
	return f.c.syncClaim(context.Background(), claimKey(ns, name))
}

func (f *fixture) syncVolume(name string) error {
	f.t.Helper()
	f.refresh()
	return f.c.syncVolume(context.Background(), name)
}

// settle syncs every claim and volume until a round changes nothing, as
// the running controller would.
func (f *fixture) settle() {
	f.t.Helper()
	for range 20 {
		f.client.ClearActions()
		f.refresh()
		claims, _ := f.client.CoreV1().PersistentVolumeClaims("").List(context.Background(), metav1.ListOptions{})
		for _, c := range claims.Items {
			f.refresh()
			if err := f.c.syncClaim(context.Background(), claimKey(c.Namespace, c.Name)); err != nil {
				f.t.Fatalf("sync claim %s: %v", c.Name, err)
			}
		}
		pvs, _ := f.client.CoreV1().PersistentVolumes().List(context.Background(), metav1.ListOptions{})
		for _, pv := range pvs.Items {
			f.refresh()
			if err := f.c.syncVolume(context.Background(), pv.Name); err != nil {
				f.t.Fatalf("sync volume %s: %v", pv.Name, err)
			}
		}
		if !f.wrote() {
			return
		}
	}
	f.t.Fatal("controller did not settle in 20 rounds")
}

// wrote says the last round changed something in the API.
func (f *fixture) wrote() bool {
	for _, a := range f.client.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			return true
		}
	}
	return false
}

func (f *fixture) claim(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c, err := f.client.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return c
}

func (f *fixture) volume(name string) *corev1.PersistentVolume {
	f.t.Helper()
	pv, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	f.check(err)
	return pv
}

func (f *fixture) volumeGone(name string) bool {
	_, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func (f *fixture) deleteClaim(name string) {
	f.t.Helper()
	f.check(f.client.CoreV1().PersistentVolumeClaims(ns).Delete(context.Background(), name, metav1.DeleteOptions{}))
}

// events drains the recorded events.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// expectEvent fails unless an event starting with want was recorded.
func expectEvent(t *testing.T, events []string, want string) {
	t.Helper()
	for _, e := range events {
		if strings.HasPrefix(e, want) {
			return
		}
	}
	t.Errorf("no event %q in %q", want, events)
}

func expectNoEvent(t *testing.T, events []string, reason string) {
	t.Helper()
	for _, e := range events {
		if strings.Contains(e, " "+reason+" ") {
			t.Errorf("unexpected event %q", e)
		}
	}
}

// fakeProvisioner provisions hostPath volumes and records deletions.
type fakeProvisioner struct {
	name string
	mu   sync.Mutex
	// deleted are the volumes Delete was called for.
	deleted []string
	// failDelete, when set, is returned by Delete.
	failDelete error
	// nodes are the selected nodes Provision was called with.
	nodes []string
	// expanded are the sizes Expand was called with.
	expanded []string
}

func (p *fakeProvisioner) Name() string { return p.name }

func (p *fakeProvisioner) Provision(_ context.Context, req ProvisionRequest) (*corev1.PersistentVolume, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	node := ""
	if req.SelectedNode != nil {
		node = req.SelectedNode.Name
	}
	p.nodes = append(p.nodes, node)
	return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + req.PVName},
	}}}, nil
}

func (p *fakeProvisioner) Delete(_ context.Context, pv *corev1.PersistentVolume) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failDelete != nil {
		return p.failDelete
	}
	if !slices.Contains(p.deleted, pv.Name) {
		p.deleted = append(p.deleted, pv.Name)
	}
	return nil
}

func (p *fakeProvisioner) Expand(_ context.Context, _ *corev1.PersistentVolume, size resource.Quantity) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expanded = append(p.expanded, size.String())
	return nil
}

// Builders.

type claimOpt func(*corev1.PersistentVolumeClaim)

func newClaim(name, size string, opts ...claimOpt) *corev1.PersistentVolumeClaim {
	fs := corev1.PersistentVolumeFilesystem
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), ResourceVersion: "1",
			Finalizers: []string{FinalizerPVCProtection}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			VolumeMode:  &fs,
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withClass(class string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = &class }
}

func withModes(modes ...corev1.PersistentVolumeAccessMode) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = modes }
}

func withVolumeName(pv string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = pv }
}

func withSelector(kv ...string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Selector = &metav1.LabelSelector{MatchLabels: pairs(kv)}
	}
}

type volumeOpt func(*corev1.PersistentVolume)

func newVolume(name, size string, opts ...volumeOpt) *corev1.PersistentVolume {
	fs := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Finalizers: []string{FinalizerPVProtection}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    &fs,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name},
			},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func volClass(class string) volumeOpt {
	return func(pv *corev1.PersistentVolume) { pv.Spec.StorageClassName = class }
}

func volModes(modes ...corev1.PersistentVolumeAccessMode) volumeOpt {
	return func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = modes }
}

func volLabels(kv ...string) volumeOpt {
	return func(pv *corev1.PersistentVolume) { pv.Labels = pairs(kv) }
}

func volPhase(p corev1.PersistentVolumePhase) volumeOpt {
	return func(pv *corev1.PersistentVolume) { pv.Status.Phase = p }
}

func volPolicy(p corev1.PersistentVolumeReclaimPolicy) volumeOpt {
	return func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = p }
}

// volOnNode pins the volume to a host name.
func volOnNode(host string) volumeOpt {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{host}}},
		}}}}
	}
}

// volClaimRef pre-binds the volume to a claim (uid "" for a user's
// pre-binding).
func volClaimRef(claim string, uid types.UID) volumeOpt {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: claim, UID: uid}
	}
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func newClass(name, provisioner string, mode storagev1.VolumeBindingMode, opts ...func(*storagev1.StorageClass)) *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	c := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
		ReclaimPolicy:     &reclaim,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func asDefault(c *storagev1.StorageClass) {
	c.Annotations = map[string]string{AnnDefaultClass: "true"}
}

func expandable(c *storagev1.StorageClass) {
	yes := true
	c.AllowVolumeExpansion = &yes
}

func newNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
}

// newPod is a running pod using claims; node "" leaves it unscheduled.
func newPod(name, node string, claims ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return pod
}

var metav1CreateOptions = metav1.CreateOptions{}

// storage formats a quantity for comparisons.
func storage(rl corev1.ResourceList) string {
	q, ok := rl[corev1.ResourceStorage]
	if !ok {
		return "<none>"
	}
	return q.String()
}

func describe(pv *corev1.PersistentVolume) string {
	ref := "<nil>"
	if r := pv.Spec.ClaimRef; r != nil {
		ref = fmt.Sprintf("%s/%s(%s)", r.Namespace, r.Name, r.UID)
	}
	return fmt.Sprintf("%s phase=%s claimRef=%s", pv.Name, pv.Status.Phase, ref)
}

var metav1UpdateOptions = metav1.UpdateOptions{}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
