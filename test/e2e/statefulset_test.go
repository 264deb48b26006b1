package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// idScript keeps the first identity written to the volume: the pod's
// name and a nonce from its first start. Every start prints the file.
const idScript = `[ -f /data/id ] || echo "$HOSTNAME $(date +%s%N)" > /data/id; cat /data/id; exec sleep 3600`

func dataSet(replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": "db"}
	zero := int64(0)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &zero,
					Containers: []corev1.Container{{
						Name: "db", Image: "skiff.local/busybox:1", Command: []string{"sh", "-c", idScript},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
				},
			}},
		},
	}
}

// podIdentity waits for pod name to run and returns the first line its
// container printed: the identity kept on its volume.
func podIdentity(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out, err := c.CoreV1().Pods("default").GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
			if line := strings.TrimSpace(string(out)); err == nil && line != "" {
				return strings.Split(line, "\n")[0]
			}
		}
		if time.Now().After(deadline) {
			var events string
			if ev, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{}); err == nil {
				for _, e := range ev.Items {
					events += fmt.Sprintf("%s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
				}
			}
			t.Fatalf("pod %s not running with output: %v\n%s", name, err, events)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestStatefulSetStorage: three pods with a claim each on local-path keep
// their own data across a pod's deletion and a scale down and up; the
// pods have stable DNS names under the governing headless service; a
// deleted claim's directory goes (Delete reclaim).
func TestStatefulSetStorage(t *testing.T) {
	s := startNodeServer(t, "--cluster-dns-upstream", "127.0.0.1:9")
	c := s.client()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"},
			Ports: []corev1.ServicePort{{Name: "x", Port: 80}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().StatefulSets("default").Create(ctx, dataSet(3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for i := range 3 {
		name := fmt.Sprintf("db-%d", i)
		ids[name] = podIdentity(t, c, name)
		if !strings.HasPrefix(ids[name], name+" ") {
			t.Fatalf("%s wrote %q", name, ids[name])
		}
	}
	for i := range 3 {
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, fmt.Sprintf("data-db-%d", i), metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "local-path" {
			t.Errorf("claim of db-%d: %v %+v", i, err, pvc)
		}
	}
	out := s.mustKubectl("get", "pvc")
	assertLines(t, out, `^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$`,
		`^data-db-0\s+Bound\s+pvc-\S+\s+64Mi\s+RWO\s+local-path\s+<unset>\s+\d+s$`,
		`^data-db-1\s+Bound\s+pvc-\S+\s+64Mi\s+RWO\s+local-path\s+<unset>\s+\d+s$`,
		`^data-db-2\s+Bound\s+pvc-\S+\s+64Mi\s+RWO\s+local-path\s+<unset>\s+\d+s$`)

	// Pod 1 comes back with the same name and reads its own data.
	if err := c.CoreV1().Pods("default").Delete(ctx, "db-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "db-1 recreated", func() bool {
		p, err := c.CoreV1().Pods("default").Get(ctx, "db-1", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
	})
	if got := podIdentity(t, c, "db-1"); got != ids["db-1"] {
		t.Errorf("db-1 after recreation reads %q, want %q", got, ids["db-1"])
	}

	// Stable DNS name under the headless service.
	out = runClient(t, c, "default", "lookup-db", "", "lookup", "db-2.db.default.svc.cluster.local")
	p2, _ := c.CoreV1().Pods("default").Get(ctx, "db-2", metav1.GetOptions{})
	if strings.TrimSpace(out) != p2.Status.PodIP {
		t.Errorf("db-2.db resolves to %q, want %s", out, p2.Status.PodIP)
	}

	// Scale to 1 and back: the claims stay, and so does the data.
	s.mustKubectl("scale", "statefulset/db", "--replicas=1")
	eventually(t, time.Minute, "db-1 and db-2 gone", func() bool {
		_, e1 := c.CoreV1().Pods("default").Get(ctx, "db-1", metav1.GetOptions{})
		_, e2 := c.CoreV1().Pods("default").Get(ctx, "db-2", metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2)
	})
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-db-2", metav1.GetOptions{}); err != nil {
		t.Fatalf("claim of db-2 gone on scale down: %v", err)
	}
	s.mustKubectl("scale", "statefulset/db", "--replicas=3")
	for _, name := range []string{"db-1", "db-2"} {
		if got := podIdentity(t, c, name); got != ids[name] {
			t.Errorf("%s after scale down and up reads %q, want %q", name, got, ids[name])
		}
	}
	out = s.mustKubectl("rollout", "status", "statefulset/db", "--timeout=60s")
	contains(t, out, "partitioned roll out complete: 3 new pods have been updated")

	// A rolling update (new image), its history and an undo: every pod
	// is replaced, highest ordinal first, and keeps its data.
	s.mustKubectl("set", "image", "statefulset/db", "db=skiff.local/busybox:2")
	contains(t, s.mustKubectl("rollout", "status", "statefulset/db", "--timeout=90s"), "partitioned roll out complete: 3 new pods have been updated")
	for i := range 3 {
		name := fmt.Sprintf("db-%d", i)
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.Spec.Containers[0].Image != "skiff.local/busybox:2" {
			t.Fatalf("%s after the update: %v %v", name, err, p.Spec.Containers)
		}
		if got := podIdentity(t, c, name); got != ids[name] {
			t.Errorf("%s after the update reads %q, want %q", name, got, ids[name])
		}
	}
	assertLines(t, s.mustKubectl("rollout", "history", "statefulset/db"), `^REVISION\s+CHANGE-CAUSE$`, `^1\s+<none>$`, `^2\s+<none>$`)
	s.mustKubectl("rollout", "undo", "statefulset/db")
	contains(t, s.mustKubectl("rollout", "status", "statefulset/db", "--timeout=90s"), "partitioned roll out complete: 3 new pods have been updated")
	if p, err := c.CoreV1().Pods("default").Get(ctx, "db-0", metav1.GetOptions{}); err != nil || p.Spec.Containers[0].Image != "skiff.local/busybox:1" {
		t.Errorf("db-0 after the undo: %v %v", err, p.Spec.Containers)
	}

	// Delete reclaim: scale down, delete the claim, its directory goes.
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-db-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.dataDir, "agent", "storage", pvc.Spec.VolumeName+"_default_data-db-2")
	if _, err := os.Stat(filepath.Join(dir, "id")); err != nil {
		t.Fatalf("volume directory of data-db-2: %v", err)
	}
	s.mustKubectl("scale", "statefulset/db", "--replicas=2")
	s.mustKubectl("delete", "pvc", "data-db-2", "--wait=false")
	eventually(t, time.Minute, "the volume and its directory gone", func() bool {
		_, err := c.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		_, statErr := os.Stat(dir)
		return apierrors.IsNotFound(err) && os.IsNotExist(statErr)
	})
}

// TestHostPathVolumeClaim: a static hostPath volume binds to a claim that
// asks for it (Immediate binding, no class), and a pod using the claim
// writes into the host directory; Retain keeps the data once the claim
// goes and the volume is Released.
func TestHostPathVolumeClaim(t *testing.T) {
	s := startNodeServer(t)
	c := s.client()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "vol")
	s.mustKubectlIn(fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: host-vol}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: %s, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: host-claim}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  resources: {requests: {storage: 100Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  containers:
  - name: w
    image: skiff.local/busybox:1
    command: ["sh", "-c", "echo written-by-pod > /data/out"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes:
  - name: d
    persistentVolumeClaim: {claimName: host-claim}
`, dir), "apply", "-f", "-")
	waitPod(t, c, "writer", 90*time.Second, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Get(ctx, "host-claim", metav1.GetOptions{})
	if err != nil || pvc.Spec.VolumeName != "host-vol" || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim: %v %+v", err, pvc)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil || strings.TrimSpace(string(data)) != "written-by-pod" {
		t.Fatalf("host directory: %q %v", data, err)
	}
	s.mustKubectl("delete", "pod", "writer")
	s.mustKubectl("delete", "pvc", "host-claim")
	eventually(t, time.Minute, "the volume Released", func() bool {
		pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "host-vol", metav1.GetOptions{})
		return err == nil && pv.Status.Phase == corev1.VolumeReleased
	})
	if _, err := os.Stat(filepath.Join(dir, "out")); err != nil {
		t.Errorf("Retain lost the data: %v", err)
	}
}
