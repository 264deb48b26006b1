package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/skiff/skiff/internal/registry/core"
)

// Static pod annotations, as the kubelet sets them.
const (
	annoConfigSource = "kubernetes.io/config.source"
	annoConfigHash   = "kubernetes.io/config.hash"
	annoConfigMirror = "kubernetes.io/config.mirror"
	annoConfigSeen   = "kubernetes.io/config.seen"
)

func isStatic(pod *corev1.Pod) bool {
	return pod.Annotations[annoConfigSource] == "file" && pod.Annotations[annoConfigMirror] == ""
}

func isMirror(pod *corev1.Pod) bool { return pod.Annotations[annoConfigMirror] != "" }

// runStaticPods reads the manifest directories every 10 seconds, runs the
// pods found there whatever the API says, and keeps a mirror pod for each
// in the API.
func (a *Agent) runStaticPods(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		pods := a.readManifests()
		changed := a.pods.setStatic(pods)
		for _, uid := range changed {
			a.workers.kick(ctx, uid)
		}
		for _, p := range pods {
			a.ensureMirror(ctx, p)
		}
		a.removeStaleMirrors(ctx, pods)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// readManifests parses every pod manifest in the manifest directories.
func (a *Agent) readManifests() []*corev1.Pod {
	var pods []*corev1.Pod
	for _, dir := range a.cfg.ManifestDirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
				continue
			}
			p, err := a.staticPod(filepath.Join(dir, e.Name()))
			if err != nil {
				a.log.Warn("static pod manifest", "file", e.Name(), "err", err)
				continue
			}
			pods = append(pods, p)
		}
	}
	return pods
}

// staticPod turns a manifest into the pod the agent runs: named
// <name>-<node>, with a UID derived from the manifest and the node.
func (a *Agent) staticPod(path string) (*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(data, pod); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, fmt.Errorf("%s: kind %q is not Pod", path, pod.Kind)
	}
	sum := sha256.Sum256(append(data, a.cfg.NodeName...))
	hash := hex.EncodeToString(sum[:16])
	pod.Name = pod.Name + "-" + a.cfg.NodeName
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.UID = types.UID(hash)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[annoConfigSource], pod.Annotations[annoConfigHash] = "file", hash
	pod.Annotations[annoConfigSeen] = time.Now().UTC().Format(time.RFC3339Nano)
	pod.Spec.NodeName = a.cfg.NodeName
	core.DefaultPodSpec(&pod.Spec)
	pod.Status.QOSClass = qosOf(pod)
	return pod, nil
}

// setStatic replaces the static pod set and returns the UIDs that came or
// went.
func (m *podManager) setStatic(pods []*corev1.Pod) []types.UID {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := map[types.UID]*corev1.Pod{}
	var changed []types.UID
	for _, p := range pods {
		if old, ok := m.static[p.UID]; ok {
			p.Status = old.Status
			p.Annotations[annoConfigSeen] = old.Annotations[annoConfigSeen]
		} else {
			changed = append(changed, p.UID)
		}
		next[p.UID] = p
	}
	for uid := range m.static {
		if _, ok := next[uid]; !ok {
			changed = append(changed, uid)
		}
	}
	m.static = next
	return changed
}

// setStaticStatus records a static pod's status and copies it to its
// mirror pod.
func (m *podManager) setStaticStatus(uid types.UID, status corev1.PodStatus) {
	m.mu.Lock()
	p := m.static[uid]
	if p != nil {
		p.Status = status
	}
	m.mu.Unlock()
	if p == nil {
		return
	}
	mirror, err := m.a.client.CoreV1().Pods(p.Namespace).Get(context.Background(), p.Name, metav1.GetOptions{})
	if err != nil || mirror.Annotations[annoConfigMirror] != p.Annotations[annoConfigHash] {
		return
	}
	mirror.Status = status
	_, _ = m.a.client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), mirror, metav1.UpdateOptions{})
}

// ensureMirror creates the API's copy of a static pod, replacing a stale
// one; deleting a mirror pod only makes the agent create it again.
func (a *Agent) ensureMirror(ctx context.Context, p *corev1.Pod) {
	pods := a.client.CoreV1().Pods(p.Namespace)
	cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
	if err == nil {
		if cur.Annotations[annoConfigMirror] == p.Annotations[annoConfigHash] && cur.DeletionTimestamp == nil {
			return
		}
		zero := int64(0)
		_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	} else if !apierrors.IsNotFound(err) {
		return
	}
	mirror := p.DeepCopy()
	mirror.UID, mirror.ResourceVersion = "", ""
	mirror.Annotations[annoConfigMirror] = p.Annotations[annoConfigHash]
	if node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil {
		ctrl := true
		mirror.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &ctrl}}
	}
	if _, err := pods.Create(ctx, mirror, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		a.log.Warn("create mirror pod", "pod", p.Namespace+"/"+p.Name, "err", err)
	}
}

// qosOf computes the pod's QoS class, as the API server does.
func qosOf(pod *corev1.Pod) corev1.PodQOSClass {
	return core.PodQOS(pod)
}

// removeStaleMirrors deletes mirror pods whose static pod is gone.
func (a *Agent) removeStaleMirrors(ctx context.Context, pods []*corev1.Pod) {
	want := map[string]bool{}
	for _, p := range pods {
		want[p.Annotations[annoConfigHash]] = true
	}
	for _, obj := range a.pods.byUID.List() {
		m := obj.(*corev1.Pod)
		if !isMirror(m) || want[m.Annotations[annoConfigMirror]] || m.DeletionTimestamp != nil {
			continue
		}
		zero := int64(0)
		_ = a.client.CoreV1().Pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}
}
