package daemonset

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"
)

// defaultRevisionHistoryLimit is how many old ControllerRevisions are kept
// when the DaemonSet does not say.
const defaultRevisionHistoryLimit = 10

// templatePatch is the data of a ControllerRevision: a strategic merge
// patch that replaces the DaemonSet's spec.template with its current one,
// {"spec":{"template":{...,"$patch":"replace"}}}. kubectl rollout undo
// sends it as is, and rollout history applies it to show the template.
func templatePatch(ds *appsv1.DaemonSet) ([]byte, error) {
	raw, err := json.Marshal(&ds.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("marshal template: %w", err)
	}
	var template map[string]any
	if err := json.Unmarshal(raw, &template); err != nil {
		return nil, fmt.Errorf("unmarshal template: %w", err)
	}
	template["$patch"] = "replace"
	out, err := json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
	if err != nil {
		return nil, fmt.Errorf("marshal template patch: %w", err)
	}
	return out, nil
}

// templateHash names a template: FNV-32a over its deep dump and the
// collision count, made safe for names.
func templateHash(ds *appsv1.DaemonSet) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(ds.Spec.Template))
	if cc := ds.Status.CollisionCount; cc != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*cc))
		_, _ = h.Write(b)
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// revisionName is "<daemonset>-<hash>", the prefix cut so the name stays
// within 253 characters.
func revisionName(ds string, hash string) string {
	if len(ds) > 223 {
		ds = ds[:223]
	}
	return ds + "-" + hash
}

// history returns ds's current ControllerRevision, creating it (or
// raising its revision number to the newest) as needed, and the old ones.
func (c *Controller) history(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (*appsv1.ControllerRevision, []*appsv1.ControllerRevision, error) {
	revs, err := c.ownedRevisions(ctx, ds, sel)
	if err != nil {
		return nil, nil, err
	}
	patch, err := templatePatch(ds)
	if err != nil {
		return nil, nil, err
	}
	var current, old []*appsv1.ControllerRevision
	var maxOld int64
	for _, r := range revs {
		if bytes.Equal(r.Data.Raw, patch) {
			current = append(current, r)
			continue
		}
		old = append(old, r)
		maxOld = max(maxOld, r.Revision)
	}
	next := maxOld + 1
	if len(current) == 0 {
		cur, err := c.snapshot(ctx, ds, patch, next)
		return cur, old, err
	}
	cur, err := c.dedupRevisions(ctx, ds, current)
	if err != nil {
		return nil, nil, err
	}
	if cur.Revision < next {
		cur = cur.DeepCopy()
		cur.Revision = next
		if cur, err = c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return nil, nil, fmt.Errorf("update controller revision: %w", err)
		}
	}
	return cur, old, nil
}

// ownedRevisions lists the ControllerRevisions ds controls, adopting the
// orphans its selector matches.
func (c *Controller) ownedRevisions(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revLister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list controller revisions: %w", err)
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOfNoCopy(r); ref != nil {
			if ref.UID == ds.UID {
				out = append(out, r)
			}
			continue
		}
		if !sel.Matches(labels.Set(r.Labels)) || ds.DeletionTimestamp != nil {
			continue
		}
		patch, err := ownerPatch(ds, r.UID)
		if err != nil {
			return nil, err
		}
		adopted, err := c.client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("adopt controller revision %s: %w", r.Name, err)
		}
		out = append(out, adopted)
	}
	return out, nil
}

// snapshot creates the ControllerRevision of ds's current template. A
// revision of the same name and data (made by an earlier sync) is reused;
// one with other data is a hash collision: the collision count is raised
// so the next sync names the revision differently.
func (c *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, patch []byte, revision int64) (*appsv1.ControllerRevision, error) {
	hash := templateHash(ds)
	lbls := maps.Clone(ds.Spec.Template.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls[hashLabel] = hash
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: revisionName(ds.Name, hash), Namespace: ds.Namespace, Labels: lbls,
			Annotations:     maps.Clone(ds.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: revision,
	}
	created, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, rev, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create controller revision: %w", err)
	}
	existing, gerr := c.client.AppsV1().ControllerRevisions(ds.Namespace).Get(ctx, rev.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get controller revision: %w", gerr)
	}
	if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == ds.UID &&
		bytes.Equal(existing.Data.Raw, patch) && existing.Labels[hashLabel] == hash {
		return existing, nil
	}
	return nil, c.bumpCollisionCount(ctx, ds)
}

func (c *Controller) bumpCollisionCount(ctx context.Context, ds *appsv1.DaemonSet) error {
	fresh, err := c.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get daemonset: %w", err)
	}
	var n int32
	if fresh.Status.CollisionCount != nil {
		n = *fresh.Status.CollisionCount
	}
	n++
	fresh.Status.CollisionCount = &n
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update daemonset collision count: %w", err)
	}
	return fmt.Errorf("%w: %s/%s", errRevisionCollision, ds.Namespace, ds.Name)
}

// dedupRevisions keeps the newest of several revisions of the current
// template, moves the pods of the others to its hash and deletes them.
func (c *Controller) dedupRevisions(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	if len(revs) == 1 {
		return revs[0], nil
	}
	keep := revs[0]
	for _, r := range revs[1:] {
		if r.Revision > keep.Revision || (r.Revision == keep.Revision && r.Name < keep.Name) {
			keep = r
		}
	}
	keepHash := keep.Labels[hashLabel]
	pods, err := c.pods.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	for _, r := range revs {
		if r == keep {
			continue
		}
		if err := c.relabelPods(ctx, ds, pods, r.Labels[hashLabel], keepHash); err != nil {
			return nil, err
		}
		err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete duplicate controller revision: %w", err)
		}
	}
	return keep, nil
}

func (c *Controller) relabelPods(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod, from, to string) error {
	for _, p := range pods {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil || ref.UID != ds.UID || from == "" || p.Labels[hashLabel] != from {
			continue
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{hashLabel: to}}})
		if err != nil {
			return fmt.Errorf("relabel patch: %w", err)
		}
		_, err = c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("relabel pod %s: %w", p.Name, err)
		}
	}
	return nil
}

// cleanupHistory deletes the oldest old revisions beyond the history
// limit, sparing those some live pod was made from.
func (c *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, byNode map[string][]*corev1.Pod) error {
	limit := int32(defaultRevisionHistoryLimit)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	excess := len(old) - int(limit)
	if excess <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, pods := range byNode {
		for _, p := range pods {
			if h := p.Labels[hashLabel]; h != "" {
				live[h] = true
			}
		}
	}
	old = append([]*appsv1.ControllerRevision(nil), old...)
	sort.SliceStable(old, func(i, j int) bool { return old[i].Revision < old[j].Revision })
	for _, r := range old {
		if excess <= 0 {
			break
		}
		if live[r.Labels[hashLabel]] {
			continue
		}
		err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete controller revision %s: %w", r.Name, err)
		}
		excess--
	}
	return nil
}
