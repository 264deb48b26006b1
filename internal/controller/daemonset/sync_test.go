package daemonset

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

func TestPodsOnEligibleNodes(t *testing.T) {
	ds := newDS("agent")
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"role": "worker"}
	f := newFixture(t, ds,
		newNode("plain", labelled("role", "worker")),
		newNode("other-role", labelled("role", "db")),
		newNode("no-label"),
		newNode("dedicated", labelled("role", "worker"), tainted("dedicated", corev1.TaintEffectNoSchedule)),
		newNode("cordoned", labelled("role", "worker"), tainted(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)),
		newNode("pressure", labelled("role", "worker"), tainted(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)),
		newNode("soft", labelled("role", "worker"), tainted("x", corev1.TaintEffectPreferNoSchedule)),
	)
	f.mustSync("agent")
	if got, want := f.createdNodes(), []string{"cordoned", "plain", "pressure", "soft"}; !slices.Equal(got, want) {
		t.Fatalf("pods created on %v, want %v", got, want)
	}
	p := f.pods()["plain"][0]
	if p.Spec.NodeName != "" {
		t.Errorf("nodeName = %q, want empty (the scheduler binds)", p.Spec.NodeName)
	}
	wantAff := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
		{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"plain"}},
	}}}}
	if d := cmp.Diff(wantAff, p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution); d != "" {
		t.Errorf("node affinity (-want +got):\n%s", d)
	}
	if n := len(p.Spec.Tolerations); n != 6 {
		t.Errorf("%d tolerations, want 6: %v", n, p.Spec.Tolerations)
	}
	if p.Labels[generationLabel] != "1" || p.Labels[hashLabel] == "" || p.Labels["app"] != "agent" {
		t.Errorf("labels = %v", p.Labels)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "DaemonSet" || ref.UID != ds.UID {
		t.Errorf("controller ref = %v", ref)
	}
	evs := f.events()
	if len(evs) != 4 || !strings.HasPrefix(evs[0], "Normal SuccessfulCreate Created pod: agent-") {
		t.Errorf("events = %v", evs)
	}
	// A second sync changes nothing.
	f.mustSync("agent")
	if c, d := f.createdNodes(), f.deletedPods(); len(c)+len(d) != 0 {
		t.Errorf("second sync created on %v, deleted %v", c, d)
	}
}

func TestRequiredNodeAffinity(t *testing.T) {
	ds := newDS("agent")
	ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
		}}},
	}}
	f := newFixture(t, ds, newNode("n1", labelled("zone", "a")), newNode("n2", labelled("zone", "c")), newNode("n3", labelled("zone", "b")))
	f.mustSync("agent")
	if got, want := f.createdNodes(), []string{"n1", "n3"}; !slices.Equal(got, want) {
		t.Fatalf("pods created on %v, want %v", got, want)
	}
	term := f.pods()["n1"][0].Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
	if len(term.MatchExpressions) != 1 || len(term.MatchFields) != 1 || term.MatchFields[0].Values[0] != "n1" {
		t.Errorf("term = %+v", term)
	}
}

func TestHostNetworkToleratesNetworkUnavailable(t *testing.T) {
	ds := newDS("net")
	f := newFixture(t, ds, newNode("n1", tainted(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)))
	f.mustSync("net")
	if len(f.createdNodes()) != 0 {
		t.Fatal("pod created on a node without network")
	}
	ds = f.getDS("net")
	ds.Spec.Template.Spec.HostNetwork = true
	f.update(ds)
	f.mustSync("net")
	if got := f.createdNodes(); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("host network pod created on %v", got)
	}
}

func TestNodeAddedAndNoLongerEligible(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	f.check(f.client.Tracker().Add(newNode("n2")))
	f.mustSync("agent")
	if got := f.createdNodes(); !slices.Equal(got, []string{"n2"}) {
		t.Fatalf("created on %v after node add, want [n2]", got)
	}
	f.schedule(t0)
	// n1 gets a taint the pods do not tolerate: NoSchedule keeps the running
	// pod, NoExecute removes it.
	n1 := newNode("n1", tainted("dedicated", corev1.TaintEffectNoSchedule))
	f.update(n1)
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 0 {
		t.Fatalf("deleted %v for a NoSchedule taint", d)
	}
	if st := f.getDS("agent").Status; st.DesiredNumberScheduled != 1 || st.NumberMisscheduled != 1 {
		t.Errorf("status = %+v, want desired 1, misscheduled 1", st)
	}
	n1 = newNode("n1", tainted("dedicated", corev1.TaintEffectNoExecute))
	f.update(n1)
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 1 || !strings.HasPrefix(d[0], "agent-") {
		t.Fatalf("deleted %v for a NoExecute taint, want the pod on n1", d)
	}
	// A deleted node's unscheduled pod is removed.
	f.check(f.client.Tracker().Add(newNode("n3")))
	f.mustSync("agent")
	f.check(f.client.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("nodes"), "", "n3"))
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 1 {
		t.Fatalf("deleted %v after node removal, want the pod pinned to n3", d)
	}
}

func TestFailedPodIsReplaced(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	p := f.pods()["n1"][0]
	p.Status.Phase = corev1.PodFailed
	f.update(p)
	f.events()
	f.mustSync("agent")
	if d := f.deletedPods(); !slices.Equal(d, []string{p.Name}) {
		t.Fatalf("deleted %v, want [%s]", d, p.Name)
	}
	evs := f.events()
	if len(evs) == 0 || !strings.HasPrefix(evs[0], "Warning FailedDaemonPod Found failed daemon pod default/"+p.Name+" on node n1") {
		t.Errorf("events = %v", evs)
	}
	f.mustSync("agent")
	if got := f.createdNodes(); !slices.Equal(got, []string{"n1"}) {
		t.Fatalf("replacement created on %v", got)
	}
}

func TestFailedPodBackoff(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	for i := range 2 {
		p := f.pods()["n1"][0]
		p.Status.Phase = corev1.PodFailed
		f.update(p)
		f.mustSync("agent")
		if d := f.deletedPods(); len(d) != 1-i {
			t.Fatalf("round %d: deleted %v", i, d)
		}
		if i == 0 {
			// The pod fails again at once: its replacement waits.
			f.mustSync("agent")
			f.schedule(t0)
		}
	}
}

func TestDuplicatePodsOnNode(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	dup := f.pods()["n1"][0].DeepCopy()
	dup.Name, dup.UID = "agent-dup", "agent-dup-uid"
	dup.CreationTimestamp = metav1.NewTime(t0.Add(time.Hour))
	f.check(f.client.Tracker().Add(dup))
	f.mustSync("agent")
	if d := f.deletedPods(); !slices.Equal(d, []string{"agent-dup"}) {
		t.Fatalf("deleted %v, want the newer of two pods", d)
	}
}

func rollout(f *fixture, name string, mod func(*appsv1.DaemonSet)) {
	ds := f.getDS(name)
	mod(ds)
	ds.Spec.Template.Spec.Containers[0].Image = "busybox:2"
	ds.Generation++
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = "2"
	f.update(ds)
}

func TestRollingUpdateMaxUnavailable(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"), newNode("n2"), newNode("n3"))
	f.mustSync("agent")
	f.schedule(t0)
	two := intstr.FromInt32(2)
	rollout(f, "agent", func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &two}
	})
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 2 {
		t.Fatalf("deleted %v, want 2 old pods", d)
	}
	f.mustSync("agent")
	created := f.createdNodes()
	if len(created) != 2 {
		t.Fatalf("created on %v, want 2 replacements", created)
	}
	for _, p := range f.pods()[created[0]] {
		if p.Spec.Containers[0].Image != "busybox:2" || p.Labels[generationLabel] != "2" {
			t.Errorf("replacement %s: image %s, labels %v", p.Name, p.Spec.Containers[0].Image, p.Labels)
		}
	}
	// Replacements not ready yet: no more deletions.
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 0 {
		t.Fatalf("deleted %v while 2 pods are unavailable", d)
	}
	if st := f.getDS("agent").Status; st.UpdatedNumberScheduled != 2 || st.NumberAvailable != 1 || st.NumberUnavailable != 2 {
		t.Errorf("status = %+v", st)
	}
	f.schedule(t0)
	f.mustSync("agent")
	if d := f.deletedPods(); len(d) != 1 {
		t.Fatalf("deleted %v, want the last old pod", d)
	}
}

func TestRollingUpdateMaxSurge(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"), newNode("n2"))
	f.mustSync("agent")
	f.schedule(t0)
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	rollout(f, "agent", func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &zero, MaxSurge: &one}
	})
	f.mustSync("agent")
	if c, d := f.createdNodes(), f.deletedPods(); !slices.Equal(c, []string{"n1"}) || len(d) != 0 {
		t.Fatalf("created on %v, deleted %v; want a surge pod on n1 only", c, d)
	}
	f.mustSync("agent")
	if c, d := f.createdNodes(), f.deletedPods(); len(c)+len(d) != 0 {
		t.Fatalf("created on %v, deleted %v while the surge pod is not ready", c, d)
	}
	f.schedule(t0)
	f.mustSync("agent")
	if c, d := f.createdNodes(), f.deletedPods(); len(d) != 1 || len(c) != 0 {
		t.Fatalf("created on %v, deleted %v; want the old pod on n1 deleted", c, d)
	}
	f.mustSync("agent")
	if c := f.createdNodes(); !slices.Equal(c, []string{"n2"}) {
		t.Fatalf("created on %v, want a surge pod on n2", c)
	}
}

func TestOnDeleteDoesNotReplace(t *testing.T) {
	ds := newDS("agent")
	ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	f := newFixture(t, ds, newNode("n1"))
	f.mustSync("agent")
	f.schedule(t0)
	rollout(f, "agent", func(*appsv1.DaemonSet) {})
	f.mustSync("agent")
	if c, d := f.createdNodes(), f.deletedPods(); len(c)+len(d) != 0 {
		t.Fatalf("OnDelete: created on %v, deleted %v", c, d)
	}
	if st := f.getDS("agent").Status; st.UpdatedNumberScheduled != 0 || st.CurrentNumberScheduled != 1 || st.ObservedGeneration != 2 {
		t.Errorf("status = %+v", st)
	}
}

func TestStatus(t *testing.T) {
	ds := newDS("agent")
	ds.Spec.MinReadySeconds = 30
	f := newFixture(t, ds, newNode("n1"), newNode("n2"), newNode("n3"), newNode("n4", tainted("x", corev1.TaintEffectNoSchedule)))
	f.mustSync("agent")
	f.schedule(t0)
	p := f.pods()["n2"][0]
	p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Minute)) // ready 10s ago
	f.update(p)
	p = f.pods()["n3"][0]
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	f.update(p)
	f.clock.Step(70 * time.Second)
	f.mustSync("agent")
	got := f.getDS("agent").Status
	want := appsv1.DaemonSetStatus{
		DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberMisscheduled: 0,
		NumberReady: 2, NumberAvailable: 1, NumberUnavailable: 2, UpdatedNumberScheduled: 3, ObservedGeneration: 1,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
}

func TestHistory(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"))
	f.mustSync("agent")
	revs := f.revisions()
	if len(revs) != 1 || revs[0].Revision != 1 {
		t.Fatalf("revisions = %v", revs)
	}
	hash := revs[0].Labels[hashLabel]
	if revs[0].Name != "agent-"+hash || revs[0].Labels["app"] != "agent" || metav1.GetControllerOf(&revs[0]) == nil {
		t.Errorf("revision meta = %+v", revs[0].ObjectMeta)
	}
	if p := f.pods()["n1"][0]; p.Labels[hashLabel] != hash {
		t.Errorf("pod hash %q, revision hash %q", p.Labels[hashLabel], hash)
	}
	v1 := f.getDS("agent")
	rollout(f, "agent", func(*appsv1.DaemonSet) {})
	f.mustSync("agent")
	if revs = f.revisions(); len(revs) != 2 || revs[1].Revision != 2 {
		t.Fatalf("revisions after rollout = %v", revs)
	}
	// kubectl rollout undo sends revision 1's data as a strategic merge
	// patch: the template must come back exactly.
	cur := f.getDS("agent")
	undone := applyPatch(t, cur, revs[0].Data.Raw)
	if d := cmp.Diff(v1.Spec.Template, undone.Spec.Template); d != "" {
		t.Errorf("template after undo (-want +got):\n%s", d)
	}
	undone.Generation++
	undone.Annotations[appsv1.DeprecatedTemplateGeneration] = "3"
	f.update(undone)
	f.mustSync("agent")
	revs = f.revisions()
	if len(revs) != 2 || revs[1].Name != "agent-"+hash || revs[1].Revision != 3 {
		t.Fatalf("revisions after undo = %v", revs)
	}
}

func TestHistoryLimit(t *testing.T) {
	ds := newDS("agent")
	one := int32(1)
	ds.Spec.RevisionHistoryLimit = &one
	f := newFixture(t, ds)
	for i := range 4 {
		ds := f.getDS("agent")
		ds.Spec.Template.Spec.Containers[0].Image = "busybox:" + string(rune('a'+i))
		f.update(ds)
		f.mustSync("agent")
	}
	if revs := f.revisions(); len(revs) != 2 || revs[0].Revision != 3 || revs[1].Revision != 4 {
		t.Fatalf("revisions = %v, want revisions 3 and 4", revs)
	}
}

func TestTemplatePatchFormat(t *testing.T) {
	ds := newDS("agent")
	raw, err := templatePatch(ds)
	f := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f(err)
	var m map[string]map[string]map[string]any
	f(json.Unmarshal(raw, &m))
	tmpl := m["spec"]["template"]
	if tmpl["$patch"] != "replace" || tmpl["spec"] == nil || tmpl["metadata"] == nil || len(m) != 1 || len(m["spec"]) != 1 {
		t.Errorf("patch = %s", raw)
	}
}

func applyPatch(t *testing.T, ds *appsv1.DaemonSet, patch []byte) *appsv1.DaemonSet {
	t.Helper()
	orig, err := json.Marshal(ds)
	if err != nil {
		t.Fatal(err)
	}
	out, err := strategicpatch.StrategicMergePatch(orig, patch, &appsv1.DaemonSet{})
	if err != nil {
		t.Fatal(err)
	}
	var res appsv1.DaemonSet
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

func (f *fixture) revisions() []appsv1.ControllerRevision {
	list, err := f.client.AppsV1().ControllerRevisions(ns).List(f.t.Context(), metav1.ListOptions{})
	f.check(err)
	slices.SortFunc(list.Items, func(a, b appsv1.ControllerRevision) int { return int(a.Revision - b.Revision) })
	return list.Items
}

func TestSurgeOnNodeThatStoppedQualifying(t *testing.T) {
	f := newFixture(t, newDS("agent"), newNode("n1"), newNode("n2"))
	f.mustSync("agent")
	f.schedule(t0)
	f.update(newNode("n2", tainted("dedicated", corev1.TaintEffectNoSchedule)))
	one := intstr.FromInt32(1)
	rollout(f, "agent", func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: &one}
	})
	old2 := f.pods()["n2"][0].Name
	f.mustSync("agent")
	// n2 no longer qualifies: no surge pod there, and its old pod goes
	// since more pods are available than desired.
	if c, d := f.createdNodes(), f.deletedPods(); !slices.Equal(c, []string{"n1"}) || !slices.Equal(d, []string{old2}) {
		t.Fatalf("created on %v, deleted %v; want surge on n1, %s deleted", c, d, old2)
	}
}
