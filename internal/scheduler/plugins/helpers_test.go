package plugins

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Small constructors for the tables: a node or pod and options.

type nodeOpt func(*corev1.Node)

func makeNode(name string, opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func nodeLabels(kv ...string) nodeOpt {
	return func(n *corev1.Node) {
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func taint(key, value string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

// allocatable sets resources, name then quantity.
func allocatable(kv ...string) nodeOpt {
	return func(n *corev1.Node) {
		for i := 0; i < len(kv); i += 2 {
			n.Status.Allocatable[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
	}
}

func unschedulable(n *corev1.Node) { n.Spec.Unschedulable = true }

type podOpt func(*corev1.Pod)

func makePod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name), Labels: map[string]string{}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podLabels(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		for i := 0; i < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func namespace(ns string) podOpt { return func(p *corev1.Pod) { p.Namespace = ns } }

// requests sets the first container's requests, name then quantity.
func requests(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		p.Spec.Containers[0].Resources.Requests = l
	}
}

func toleration(key string, op corev1.TolerationOperator, value string, effect corev1.TaintEffect) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect})
	}
}

func affinity(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	return p.Spec.Affinity
}

func selectorOf(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

// podAffinity adds a required pod affinity term on key selecting kv.
func podAffinity(key string, kv ...string) podOpt {
	return func(p *corev1.Pod) {
		a := affinity(p)
		if a.PodAffinity == nil {
			a.PodAffinity = &corev1.PodAffinity{}
		}
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: selectorOf(kv...)})
	}
}

// podAntiAffinity adds a required pod anti-affinity term on key selecting
// kv.
func podAntiAffinity(key string, kv ...string) podOpt {
	return func(p *corev1.Pod) {
		a := affinity(p)
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: selectorOf(kv...)})
	}
}

// on assigns the pod to a node.
func on(node string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

// cluster is nodes with pods placed by their spec.nodeName.
func cluster(nodes []*corev1.Node, pods ...*corev1.Pod) *framework.Snapshot {
	infos := make([]*framework.NodeInfo, len(nodes))
	for i, n := range nodes {
		infos[i] = framework.NewNodeInfo(n)
		for _, p := range pods {
			if p.Spec.NodeName == n.Name {
				infos[i].AddPod(framework.NewPodInfo(p))
			}
		}
	}
	return framework.NewSnapshot(infos, map[string]labels.Set{})
}

// filterResult is a node's verdict: code and reasons (Success, none).
type filterResult struct {
	code    framework.Code
	reasons []string
}

func (r filterResult) equal(o filterResult) bool {
	return r.code == o.code && slices.Equal(r.reasons, o.reasons)
}

var pass = filterResult{}

func fail(code framework.Code, reasons ...string) filterResult {
	return filterResult{code: code, reasons: reasons}
}

// runFilter runs the plugin's PreFilter (if any) and Filter on every
// node. A PreFilter that rejects gives every node its verdict; one that
// skips passes them all.
func runFilter(t *testing.T, pl framework.FilterPlugin, pod *corev1.Pod, snap *framework.Snapshot) map[string]filterResult {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	out := map[string]filterResult{}
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		st := pf.PreFilter(ctx, state, pod, snap)
		switch {
		case st.IsSkip():
			for _, n := range snap.Nodes {
				out[n.Node.Name] = pass
			}
			return out
		case st.IsSuccess():
		case st.Code == framework.Error:
			t.Fatalf("PreFilter: %s", st.Message())
		default:
			for _, n := range snap.Nodes {
				out[n.Node.Name] = filterResult{code: st.Code, reasons: st.Reasons}
			}
			return out
		}
	}
	for _, n := range snap.Nodes {
		st := pl.Filter(ctx, state, pod, n)
		if st.IsSuccess() {
			out[n.Node.Name] = pass
			continue
		}
		if st.Code == framework.Error {
			t.Fatalf("Filter %s: %s", n.Node.Name, st.Message())
		}
		if st.Plugin != pl.Name() {
			t.Errorf("status names plugin %q, want %q", st.Plugin, pl.Name())
		}
		out[n.Node.Name] = filterResult{code: st.Code, reasons: st.Reasons}
	}
	return out
}

// checkFilter compares verdicts per node.
func checkFilter(t *testing.T, got, want map[string]filterResult) {
	t.Helper()
	for name, w := range want {
		if g := got[name]; !g.equal(w) {
			t.Errorf("node %s: got code %d %q, want code %d %q", name, g.code, g.reasons, w.code, w.reasons)
		}
	}
}

// runScore runs PreScore over all nodes as feasible, Score and
// NormalizeScore; a PreScore that skips gives nil.
func runScore(t *testing.T, pl framework.ScorePlugin, pod *corev1.Pod, snap *framework.Snapshot) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	state := framework.NewCycleState()
	if ps, ok := pl.(framework.PreScorePlugin); ok {
		st := ps.PreScore(ctx, state, pod, snap.Nodes, snap)
		if st.IsSkip() {
			return nil
		}
		if !st.IsSuccess() {
			t.Fatalf("PreScore: %s", st.Message())
		}
	}
	scores := make([]framework.NodeScore, len(snap.Nodes))
	for i, n := range snap.Nodes {
		s, st := pl.Score(ctx, state, pod, n)
		if !st.IsSuccess() {
			t.Fatalf("Score %s: %s", n.Node.Name, st.Message())
		}
		scores[i] = framework.NodeScore{Name: n.Node.Name, Score: s}
	}
	if norm, ok := pl.(framework.ScoreNormalizer); ok {
		if st := norm.NormalizeScore(ctx, state, pod, scores); !st.IsSuccess() {
			t.Fatalf("NormalizeScore: %s", st.Message())
		}
	}
	out := map[string]int64{}
	for _, s := range scores {
		out[s.Name] = s.Score
	}
	return out
}

// checkScores compares scores per node (nil: the plugin skipped).
func checkScores(t *testing.T, got, want map[string]int64) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Fatalf("scores %v, want %v", got, want)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("scores %v, want %v", got, want)
			return
		}
	}
}

func nodes(ns ...*corev1.Node) []*corev1.Node { return ns }
