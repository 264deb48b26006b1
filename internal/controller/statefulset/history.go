package statefulset

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

const (
	// defaultRevisionHistoryLimit is how many old ControllerRevisions are
	// kept when the StatefulSet does not say.
	defaultRevisionHistoryLimit = 10
	// hashLabel carries the hash in a revision's name, as upstream's
	// controller history does.
	hashLabel = "controller.kubernetes.io/hash"
	// maxCollisions bounds the names tried for one new revision.
	maxCollisions = 16
)

// templatePatch is the data of a ControllerRevision: a strategic merge
// patch that replaces the set's spec.template with its current one,
// {"spec":{"template":{...,"$patch":"replace"}}}. kubectl rollout undo
// sends it as is, and rollout history applies it to show the template.
func templatePatch(set *appsv1.StatefulSet) ([]byte, error) {
	raw, err := json.Marshal(&set.Spec.Template)
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

// revisionTemplate returns the pod template rev records, applying its
// patch to set as kubectl rollout undo would.
func revisionTemplate(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	orig, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("marshal statefulset: %w", err)
	}
	patched, err := strategicpatch.StrategicMergePatch(orig, rev.Data.Raw, &appsv1.StatefulSet{})
	if err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	var out appsv1.StatefulSet
	if err := json.Unmarshal(patched, &out); err != nil {
		return nil, fmt.Errorf("apply revision %s: %w", rev.Name, err)
	}
	return &out.Spec.Template, nil
}

// revisionHash names revision data: FNV-32a over the data and the
// collision count, made safe for names.
func revisionHash(data []byte, collisions int32) string {
	h := fnv.New32a()
	_, _ = h.Write(data)
	_, _ = h.Write([]byte(strconv.FormatInt(int64(collisions), 10)))
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// revisionName is "<set>-<hash>", the prefix cut so the name stays within
// 253 characters.
func revisionName(set, hash string) string {
	if len(set) > 223 {
		set = set[:223]
	}
	return set + "-" + hash
}

// ownedRevisions lists the ControllerRevisions set controls, adopting the
// orphans its selector matches, oldest revision first.
func (c *Controller) ownedRevisions(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revLister.ControllerRevisions(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list controller revisions: %w", err)
	}
	canAdopt := sync.OnceValue(func() error { return c.canAdopt(ctx, set) })
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOfNoCopy(r); ref != nil {
			if ref.UID == set.UID {
				out = append(out, r)
			}
			continue
		}
		if !sel.Matches(labels.Set(r.Labels)) || set.DeletionTimestamp != nil {
			continue
		}
		adopted, err := c.adoptRevision(ctx, set, r, canAdopt)
		if err != nil {
			return nil, err
		}
		if adopted != nil {
			out = append(out, adopted)
		}
	}
	sortRevisions(out)
	return out, nil
}

func (c *Controller) adoptRevision(ctx context.Context, set *appsv1.StatefulSet, r *appsv1.ControllerRevision, canAdopt func() error) (*appsv1.ControllerRevision, error) {
	if err := canAdopt(); err != nil {
		return nil, fmt.Errorf("adopt controller revision %s: %w", r.Name, err)
	}
	patch, err := ownerPatch(set, r.UID)
	if err != nil {
		return nil, err
	}
	adopted, err := c.client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopt controller revision %s: %w", r.Name, err)
	}
	return adopted, nil
}

// sortRevisions orders revisions by revision number, then creation time
// and name.
func sortRevisions(revs []*appsv1.ControllerRevision) {
	slices.SortStableFunc(revs, func(a, b *appsv1.ControllerRevision) int {
		return cmp.Or(cmp.Compare(a.Revision, b.Revision),
			a.CreationTimestamp.Compare(b.CreationTimestamp.Time), strings.Compare(a.Name, b.Name))
	})
}

// resolveRevisions sets s.update to the revision of the set's template,
// creating it or, for a template seen before (a rollback), renumbering it
// as the newest; and s.current to the revision named in the status, or the
// update revision if there is none. revs is sorted oldest first.
func (c *Controller) resolveRevisions(ctx context.Context, s *syncState, revs []*appsv1.ControllerRevision) error {
	patch, err := templatePatch(s.set)
	if err != nil {
		return err
	}
	next := int64(1)
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	var equal *appsv1.ControllerRevision
	for _, r := range revs {
		if bytes.Equal(r.Data.Raw, patch) {
			equal = r
		}
	}
	switch {
	case equal != nil && bytes.Equal(revs[len(revs)-1].Data.Raw, patch):
		s.update = revs[len(revs)-1]
	case equal != nil:
		renumbered := equal.DeepCopy()
		renumbered.Revision = next
		if s.update, err = c.client.AppsV1().ControllerRevisions(s.set.Namespace).Update(ctx, renumbered, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update controller revision %s: %w", equal.Name, err)
		}
	default:
		if s.update, err = c.createRevision(ctx, s, patch, next); err != nil {
			return err
		}
	}
	s.current = s.update
	for _, r := range revs {
		if r.Name == s.set.Status.CurrentRevision && r.Name != s.update.Name {
			s.current = r
		}
	}
	return nil
}

// createRevision creates the revision of the set's template. A revision
// of the same name and data (made by an earlier sync the cache has not
// seen yet) is reused; one with other data is a hash collision, and the
// next name is tried with the collision count raised.
func (c *Controller) createRevision(ctx context.Context, s *syncState, patch []byte, revision int64) (*appsv1.ControllerRevision, error) {
	api := c.client.AppsV1().ControllerRevisions(s.set.Namespace)
	for range maxCollisions {
		rev := newRevision(s.set, patch, revision, s.collisions)
		created, err := api.Create(ctx, rev, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create controller revision: %w", err)
		}
		existing, err := api.Get(ctx, rev.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get controller revision: %w", err)
		}
		if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == s.set.UID && bytes.Equal(existing.Data.Raw, patch) {
			return existing, nil
		}
		s.collisions++
	}
	return nil, fmt.Errorf("%w: %s/%s", errRevisionCollision, s.set.Namespace, s.set.Name)
}

func newRevision(set *appsv1.StatefulSet, patch []byte, revision int64, collisions int32) *appsv1.ControllerRevision {
	hash := revisionHash(patch, collisions)
	lbls := maps.Clone(set.Spec.Template.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls[hashLabel] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: revisionName(set.Name, hash), Namespace: set.Namespace, Labels: lbls,
			Annotations:     maps.Clone(set.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: revision,
	}
}

// truncateHistory deletes the oldest revisions beyond the history limit
// that are neither the current nor the update revision nor the revision
// of some pod. revs is sorted oldest first.
func (c *Controller) truncateHistory(ctx context.Context, s *syncState, revs []*appsv1.ControllerRevision) error {
	limit := defaultRevisionHistoryLimit
	if s.set.Spec.RevisionHistoryLimit != nil {
		limit = int(*s.set.Spec.RevisionHistoryLimit)
	}
	live := map[string]bool{s.current.Name: true, s.update.Name: true}
	for _, p := range s.pods {
		live[revisionOf(p)] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	for _, r := range old[:max(len(old)-limit, 0)] {
		err := c.client.AppsV1().ControllerRevisions(s.set.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete controller revision %s: %w", r.Name, err)
		}
	}
	return nil
}
