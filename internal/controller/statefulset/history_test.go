package statefulset

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

func (f *fixture) revisions() []appsv1.ControllerRevision {
	list, err := f.client.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
	f.check(err)
	slices.SortFunc(list.Items, func(a, b appsv1.ControllerRevision) int { return int(a.Revision - b.Revision) })
	return list.Items
}

func revisionNumbers(revs []appsv1.ControllerRevision) []int64 {
	var out []int64
	for _, r := range revs {
		out = append(out, r.Revision)
	}
	return out
}

// rollOut syncs, making pods ready, until kubectl would call the rollout
// done.
func rollOut(f *fixture, name string) {
	f.t.Helper()
	for range 20 {
		f.mustSync(name)
		if _, done := rolloutStatus(f.getSet(name)); done {
			return
		}
		f.readyAll()
	}
	f.t.Fatalf("rollout of %s not done: %+v", name, f.getSet(name).Status)
}

// kubectlPatch is the patch kubectl's rollout undo compares a revision's
// data with to tell whether the set already runs it (kubectl v1.32
// getStatefulSetPatch: the set encoded by the apps/v1 codec, its
// spec.template with $patch: replace).
func kubectlPatch(t *testing.T, set *appsv1.StatefulSet) []byte {
	t.Helper()
	raw, err := runtime.Encode(scheme.Codecs.LegacyCodec(appsv1.SchemeGroupVersion), set)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	template := m["spec"].(map[string]any)["template"].(map[string]any)
	template["$patch"] = "replace"
	out, err := json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRevisions(t *testing.T) {
	f := running(t, newSet("web", 2))
	revs := f.revisions()
	if len(revs) != 1 || revs[0].Revision != 1 {
		t.Fatalf("revisions = %v", revisionNumbers(revs))
	}
	r := revs[0]
	if r.Name != "web-"+r.Labels[hashLabel] || r.Labels["app"] != "web" {
		t.Errorf("revision meta = %+v", r.ObjectMeta)
	}
	if ref := metav1.GetControllerOf(&r); ref == nil || ref.UID != "web-uid" {
		t.Errorf("revision owner = %v", r.OwnerReferences)
	}
	if p := f.pod("web-0"); revisionOf(p) != r.Name {
		t.Errorf("pod revision %q, want %q", revisionOf(p), r.Name)
	}
	set := f.getSet("web")
	if !bytes.Equal(r.Data.Raw, kubectlPatch(t, set)) {
		t.Errorf("revision data differs from kubectl's patch:\n%s\n%s", r.Data.Raw, kubectlPatch(t, set))
	}
	if st := set.Status; st.CurrentRevision != r.Name || st.UpdateRevision != r.Name {
		t.Errorf("status revisions %q %q, want %q", st.CurrentRevision, st.UpdateRevision, r.Name)
	}
	f.rollTo("web", "nginx:2")
	f.mustSync("web")
	if revs = f.revisions(); !slices.Equal(revisionNumbers(revs), []int64{1, 2}) {
		t.Fatalf("revisions = %v, want [1 2]", revisionNumbers(revs))
	}
	if st := f.getSet("web").Status; st.CurrentRevision != revs[0].Name || st.UpdateRevision != revs[1].Name {
		t.Errorf("status revisions %q %q", st.CurrentRevision, st.UpdateRevision)
	}
}

func TestRollbackWithRevisionPatch(t *testing.T) {
	f := running(t, newSet("web", 2))
	f.rollTo("web", "nginx:2")
	rollOut(f, "web")
	revs := f.revisions()
	if len(revs) != 2 {
		t.Fatalf("%d revisions", len(revs))
	}
	v1, v2 := revs[0], revs[1]
	if !bytes.Equal(v2.Data.Raw, kubectlPatch(t, f.getSet("web"))) {
		t.Error("kubectl would not see the current template in the newest revision")
	}
	// kubectl rollout history --revision=1 applies the revision to the set.
	orig, err := json.Marshal(f.getSet("web"))
	f.check(err)
	shown, err := strategicpatch.StrategicMergePatch(orig, v1.Data.Raw, &appsv1.StatefulSet{})
	f.check(err)
	var old appsv1.StatefulSet
	f.check(json.Unmarshal(shown, &old))
	if img := old.Spec.Template.Spec.Containers[0].Image; img != "nginx:1" {
		t.Errorf("revision 1 shows image %s", img)
	}

	// kubectl rollout undo patches the set with the revision's data.
	_, err = f.client.AppsV1().StatefulSets(ns).Patch(context.Background(), "web", types.StrategicMergePatchType, v1.Data.Raw, metav1.PatchOptions{})
	f.check(err)
	f.updateSet("web", func(*appsv1.StatefulSet) {}) // the API server raises the generation
	rollOut(f, "web")
	revs = f.revisions()
	if len(revs) != 2 || revs[1].Name != v1.Name || revs[1].Revision != 3 || revs[0].Name != v2.Name {
		t.Fatalf("revisions after undo: %v %v, want %s renumbered 3", revs[0].Name, revisionNumbers(revs), v1.Name)
	}
	st := f.getSet("web").Status
	if st.UpdateRevision != v1.Name || st.CurrentRevision != v1.Name {
		t.Errorf("status revisions %q %q, want %q", st.CurrentRevision, st.UpdateRevision, v1.Name)
	}
	if f.image("web-0") != "nginx:1" || f.image("web-1") != "nginx:1" {
		t.Errorf("images after undo: %s %s", f.image("web-0"), f.image("web-1"))
	}
}

func TestHistoryLimit(t *testing.T) {
	set := newSet("web", 0)
	set.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	f := newFixture(t, set)
	for _, img := range []string{"a", "b", "c", "d", "e"} {
		f.mustSync("web")
		f.rollTo("web", img)
	}
	// The second sync sees the last revision current.
	f.mustSync("web")
	f.mustSync("web")
	if got := revisionNumbers(f.revisions()); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Fatalf("revisions = %v, want the live one and two old ones", got)
	}
}

func TestHistoryKeepsRevisionsOfPods(t *testing.T) {
	set := newSet("web", 2)
	set.Spec.RevisionHistoryLimit = ptr.To[int32](0)
	set.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	f := running(t, set)
	f.rollTo("web", "nginx:2")
	f.mustSync("web")
	f.deletePod("web-1")
	f.mustSync("web") // web-1 at revision 2
	f.rollTo("web", "nginx:3")
	f.mustSync("web")
	f.rollTo("web", "nginx:4")
	f.mustSync("web")
	// Revision 1 is current (and web-0's), 2 is web-1's, 4 the update
	// revision; 3 is gone.
	if got := revisionNumbers(f.revisions()); !slices.Equal(got, []int64{1, 2, 4}) {
		t.Fatalf("revisions = %v, want [1 2 4]", got)
	}
}

func TestAdoptsOrphanRevision(t *testing.T) {
	set := newSet("web", 0)
	orphan := newRevision(set, []byte(`{"spec":{"template":{"$patch":"replace"}}}`), 1, 0)
	orphan.OwnerReferences = nil
	orphan.UID = "orphan-rev-uid"
	f := newFixture(t, set, orphan)
	f.mustSync("web")
	if len(f.actions("patch", "controllerrevisions")) != 1 {
		t.Fatalf("actions = %v, want the orphan revision adopted", f.writes())
	}
	revs := f.revisions()
	if len(revs) != 2 || revs[1].Revision != 2 {
		t.Errorf("revisions = %v, want the adopted one and a new one after it", revisionNumbers(revs))
	}
}

func TestRevisionNameCollision(t *testing.T) {
	set := newSet("web", 0)
	patch, err := templatePatch(set)
	if err != nil {
		t.Fatal(err)
	}
	// Another set's revision holds the name the template hashes to.
	squatter := newRevision(set, patch, 1, 0)
	squatter.Data.Raw = []byte(`{"spec":{"template":{"$patch":"replace"}}}`)
	squatter.OwnerReferences[0].UID = "other-uid"
	f := newFixture(t, set, squatter)
	f.mustSync("web")
	st := f.getSet("web").Status
	if st.CollisionCount == nil || *st.CollisionCount != 1 || st.UpdateRevision == squatter.Name {
		t.Fatalf("status = %+v, want collision count 1 and another name", st)
	}
	if st.UpdateRevision != revisionName("web", revisionHash(patch, 1)) {
		t.Errorf("update revision %s", st.UpdateRevision)
	}
	f.mustSync("web")
	if len(f.actions("create", "controllerrevisions")) != 0 {
		t.Error("revision created again after the collision was resolved")
	}
}
