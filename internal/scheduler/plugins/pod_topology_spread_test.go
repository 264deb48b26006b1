package plugins

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// spreadNodes: a and b in zone z1, c and d in z2.
func spreadNodes(extra ...*corev1.Node) []*corev1.Node {
	return append(nodes(
		makeNode("a", nodeLabels(zoneKey, "z1")),
		makeNode("b", nodeLabels(zoneKey, "z1")),
		makeNode("c", nodeLabels(zoneKey, "z2")),
		makeNode("d", nodeLabels(zoneKey, "z2")),
	), extra...)
}

// webPods: two app=web pods on a, one on c.
func webPods() []*corev1.Pod {
	return []*corev1.Pod{
		makePod("w1", on("a"), podLabels("app", "web", "version", "v1")),
		makePod("w2", on("a"), podLabels("app", "web", "version", "v1")),
		makePod("w3", on("c"), podLabels("app", "web", "version", "v2")),
	}
}

type spreadOpt func(*corev1.TopologySpreadConstraint)

// spread adds a constraint selecting app=web.
func spread(key string, maxSkew int32, action corev1.UnsatisfiableConstraintAction, opts ...spreadOpt) podOpt {
	return func(p *corev1.Pod) {
		c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action, LabelSelector: selectorOf("app", "web")}
		for _, o := range opts {
			o(&c)
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	}
}

func TestPodTopologySpreadFilter(t *testing.T) {
	const hard = corev1.DoNotSchedule
	skewed := fail(framework.Unschedulable, "node(s) didn't match pod topology spread constraints")
	missing := fail(framework.UnschedulableAndUnresolvable, "node(s) didn't match pod topology spread constraints (missing required label)")
	web := podLabels("app", "web", "version", "v2")
	cases := []struct {
		name  string
		nodes []*corev1.Node
		pods  []*corev1.Pod
		pod   *corev1.Pod
		want  map[string]filterResult
	}{
		{"no constraints", spreadNodes(), webPods(), makePod("p", web),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": pass}},
		{"soft constraints do not filter", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 1, corev1.ScheduleAnyway)),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": pass}},
		// z1 has 2, z2 has 1: the pod in z1 makes a skew of 2.
		{"zone", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 1, hard)),
			map[string]filterResult{"a": skewed, "b": skewed, "c": pass, "d": pass}},
		{"hostname", spreadNodes(), webPods(), makePod("p", web, spread(corev1.LabelHostname, 1, hard)),
			map[string]filterResult{"a": skewed, "b": pass, "c": skewed, "d": pass}},
		{"node without the key", spreadNodes(makeNode("e")), webPods(), makePod("p", web, spread(zoneKey, 1, hard)),
			map[string]filterResult{"c": pass, "e": missing}},
		{"pod not selected by its constraint", spreadNodes(), webPods(), makePod("p", spread(zoneKey, 1, hard)),
			map[string]filterResult{"a": pass, "b": pass, "c": pass, "d": pass}},
		{"maxSkew 2", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 2, hard)),
			map[string]filterResult{"a": pass, "c": pass}},
		// Two domains, minDomains 3: the minimum counts as 0.
		{"minDomains", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 2, hard, func(c *corev1.TopologySpreadConstraint) {
			c.MinDomains = ptr.To[int32](3)
		})), map[string]filterResult{"a": skewed, "b": skewed, "c": pass, "d": pass}},
		// Only z1 is eligible for a pod bound to z1: no skew there.
		{"node affinity honored", spreadNodes(), webPods(), makePod("p", web, withNodeSelector(zoneKey, "z1"), spread(zoneKey, 1, hard)),
			map[string]filterResult{"a": pass, "b": pass}},
		{"node affinity ignored", spreadNodes(), webPods(), makePod("p", web, withNodeSelector(zoneKey, "z1"), spread(zoneKey, 1, hard,
			func(c *corev1.TopologySpreadConstraint) {
				c.NodeAffinityPolicy = ptr.To(corev1.NodeInclusionPolicyIgnore)
			})),
			map[string]filterResult{"a": skewed, "b": skewed}},
		{"taints ignored by default", spreadNodes(makeNode("e", nodeLabels(zoneKey, "z3"), taint("k", "v", corev1.TaintEffectNoSchedule))),
			webPods(), makePod("p", web, spread(zoneKey, 1, hard)),
			// z3 is a domain with 0 pods: z2 (1) is now too many.
			map[string]filterResult{"a": skewed, "c": skewed, "e": pass}},
		{"taints honored", spreadNodes(makeNode("e", nodeLabels(zoneKey, "z3"), taint("k", "v", corev1.TaintEffectNoSchedule))),
			webPods(), makePod("p", web, spread(zoneKey, 1, hard, func(c *corev1.TopologySpreadConstraint) {
				c.NodeTaintsPolicy = ptr.To(corev1.NodeInclusionPolicyHonor)
			})),
			map[string]filterResult{"a": skewed, "c": pass}},
		// Only version=v2 pods count: z1 0, z2 1.
		{"matchLabelKeys", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 1, hard, func(c *corev1.TopologySpreadConstraint) {
			c.MatchLabelKeys = []string{"version"}
		})), map[string]filterResult{"a": pass, "b": pass, "c": skewed, "d": skewed}},
		{"terminating and other namespaces' pods do not count", spreadNodes(), append(webPods(),
			makePod("t", on("c"), podLabels("app", "web"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }),
			makePod("o", on("c"), podLabels("app", "web"), namespace("other"))),
			makePod("p", web, spread(zoneKey, 1, hard)),
			map[string]filterResult{"a": skewed, "c": pass}},
		{"every constraint applies", spreadNodes(), webPods(), makePod("p", web, spread(zoneKey, 1, hard), spread(corev1.LabelHostname, 1, hard)),
			map[string]filterResult{"a": skewed, "b": skewed, "c": skewed, "d": pass}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := newPodTopologySpread(ownerListers{})
			checkFilter(t, runFilter(t, pl, c.pod, cluster(c.nodes, c.pods...)), c.want)
		})
	}
}

// listersWith returns owner listers holding objs.
func listersWith(t testing.TB, objs ...runtime.Object) ownerListers {
	t.Helper()
	idx := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	svcs, rcs, rss, sss := idx(), idx(), idx(), idx()
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = svcs.Add(o)
		case *corev1.ReplicationController:
			err = rcs.Add(o)
		case *appsv1.ReplicaSet:
			err = rss.Add(o)
		case *appsv1.StatefulSet:
			err = sss.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return ownerListers{
		services: corelisters.NewServiceLister(svcs), controllers: corelisters.NewReplicationControllerLister(rcs),
		replicaSets: appslisters.NewReplicaSetLister(rss), statefulSets: appslisters.NewStatefulSetLister(sss),
	}
}

func ownedBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		apiVersion := "apps/v1"
		if kind == "ReplicationController" {
			apiVersion = "v1"
		}
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, Controller: ptr.To(true)}}
	}
}

func TestPodTopologySpreadScore(t *testing.T) {
	const soft = corev1.ScheduleAnyway
	web := podLabels("app", "web")
	meta := metav1.ObjectMeta{Name: "web", Namespace: "default"}
	service := &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	replicaSet := &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: selectorOf("app", "web")}}
	statefulSet := &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: selectorOf("app", "web")}}
	controller := &corev1.ReplicationController{ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "web"}}}
	// The system defaults over a, b (z1: 2 pods, a: 2), c, d (z2: 1, c: 1):
	// hostname weighs log(6), zone log(4); a 12, b 9, c 9, d 7.
	defaults := map[string]int64{"a": 58, "b": 83, "c": 83, "d": 100}
	cases := []struct {
		name    string
		nodes   []*corev1.Node
		objects []runtime.Object
		pod     *corev1.Pod
		want    map[string]int64
	}{
		{"nothing to spread with: skip", spreadNodes(), nil, makePod("p", web), nil},
		{"hard constraints do not score", spreadNodes(), nil, makePod("p", web, spread(zoneKey, 1, corev1.DoNotSchedule)), nil},
		// z1: 2 × log 4 = 2.8 → 3; z2: 1.4 → 1. 100 × (3 + 1 − s) / 3.
		{"zone", spreadNodes(), nil, makePod("p", web, spread(zoneKey, 1, soft)),
			map[string]int64{"a": 33, "b": 33, "c": 100, "d": 100}},
		// a: 2 × log 6 = 3.6 → 4; c: 1.8 → 2.
		{"hostname", spreadNodes(), nil, makePod("p", web, spread(corev1.LabelHostname, 1, soft)),
			map[string]int64{"a": 0, "b": 100, "c": 50, "d": 100}},
		{"node without the key scores 0", spreadNodes(makeNode("e")), nil, makePod("p", web, spread(zoneKey, 1, soft)),
			map[string]int64{"a": 33, "c": 100, "e": 0}},
		{"defaults by Service", spreadNodes(), []runtime.Object{service}, makePod("p", web), defaults},
		{"defaults by ReplicaSet", spreadNodes(), []runtime.Object{replicaSet}, makePod("p", web, ownedBy("ReplicaSet", "web")), defaults},
		{"defaults by StatefulSet", spreadNodes(), []runtime.Object{statefulSet}, makePod("p", web, ownedBy("StatefulSet", "web")), defaults},
		{"defaults by ReplicationController", spreadNodes(), []runtime.Object{controller},
			makePod("p", web, ownedBy("ReplicationController", "web")), defaults},
		{"owner not found: skip", spreadNodes(), nil, makePod("p", web, ownedBy("ReplicaSet", "web")), nil},
		// Without zones the defaults still spread by hostname.
		{"defaults without zones", nodes(makeNode("a"), makeNode("b")), []runtime.Object{service}, makePod("p", web),
			// a: 2 × log 4 + 2 = 4.8 → 5; b: 2. The zone constraint scores
			// nothing on nodes without zones.
			map[string]int64{"a": 40, "b": 100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl := newPodTopologySpread(listersWith(t, c.objects...))
			checkScores(t, runScore(t, pl, c.pod, cluster(c.nodes, webPods()...)), c.want)
		})
	}
}

// TestPodTopologySpreadCountsFollowChanges checks that remembered counts
// are refreshed when a node's pods change.
func TestPodTopologySpreadCountsFollowChanges(t *testing.T) {
	snap := cluster(spreadNodes(), webPods()...)
	pl := newPodTopologySpread(ownerListers{})
	pod := makePod("p", podLabels("app", "web"), spread(zoneKey, 1, corev1.DoNotSchedule))
	checkFilter(t, runFilter(t, pl, pod, snap), map[string]filterResult{"c": pass, "d": pass})
	snap.Get("d").AddPod(framework.NewPodInfo(makePod("w4", on("d"), podLabels("app", "web"))))
	snap.Get("c").AddPod(framework.NewPodInfo(makePod("w5", on("c"), podLabels("app", "web"))))
	skewed := fail(framework.Unschedulable, "node(s) didn't match pod topology spread constraints")
	checkFilter(t, runFilter(t, pl, pod, snap), map[string]filterResult{"a": pass, "c": skewed})
}

// TestPodTopologySpreadAddRemovePod checks the counts preemption updates
// on a clone of the state.
func TestPodTopologySpreadAddRemovePod(t *testing.T) {
	ctx := t.Context()
	snap := cluster(spreadNodes(), webPods()...)
	pl := newPodTopologySpread(ownerListers{})
	pod := makePod("p", podLabels("app", "web"), spread(zoneKey, 1, corev1.DoNotSchedule))
	state := framework.NewCycleState()
	if st := pl.PreFilter(ctx, state, pod, snap); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st.Message())
	}
	a := snap.Get("a")
	clone := state.Clone()
	pl.RemovePod(ctx, clone, pod, a.Pods[0], a)
	if st := pl.Filter(ctx, clone, pod, a); !st.IsSuccess() {
		t.Errorf("after removing a pod from z1, a: %v", st.Message())
	}
	if st := pl.Filter(ctx, state, pod, a); st.IsSuccess() {
		t.Error("the original state changed with the clone")
	}
	pl.AddPod(ctx, clone, pod, framework.NewPodInfo(makePod("w9", podLabels("app", "web"))), snap.Get("d"))
	if st := pl.Filter(ctx, clone, pod, snap.Get("c")); st.IsSuccess() {
		t.Error("after adding a pod to z2, c still fits")
	}
}

// TestPodTopologySpreadNothingAndEverything checks that a constraint
// without a selector (selecting nothing) and one with an empty selector
// (selecting every pod) do not share remembered counts.
func TestPodTopologySpreadNothingAndEverything(t *testing.T) {
	snap := cluster(spreadNodes(), webPods()...)
	pl := newPodTopologySpread(ownerListers{})
	skewed := fail(framework.Unschedulable, "node(s) didn't match pod topology spread constraints")
	every := makePod("p", spread(zoneKey, 1, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
		c.LabelSelector = &metav1.LabelSelector{}
	}))
	none := makePod("p", spread(zoneKey, 0, corev1.DoNotSchedule, func(c *corev1.TopologySpreadConstraint) {
		c.LabelSelector = nil
	}))
	checkFilter(t, runFilter(t, pl, every, snap), map[string]filterResult{"a": skewed, "c": pass})
	checkFilter(t, runFilter(t, pl, none, snap), map[string]filterResult{"a": pass, "c": pass})
	checkFilter(t, runFilter(t, pl, every, snap), map[string]filterResult{"a": skewed, "c": pass})
}
