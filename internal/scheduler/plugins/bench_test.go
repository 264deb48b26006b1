package plugins

import (
	"context"
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// BenchmarkFilterScore runs whole scheduling cycles with the default
// plugins over 1000 nodes in 10 zones holding 10,000 pods of 100
// ReplicaSets (each behind a Service), placing each pod on the best node
// as the scheduler would, so that the cluster changes between cycles as
// it does in use. Every node is filtered and scored, one at a time (the
// scheduler searches only a share of the nodes, on several goroutines):
// 1e9 / (ns/op) is a floor on the pods per second one core schedules.
func BenchmarkFilterScore(b *testing.B) {
	cases := []struct {
		name string
		opts func(app string) []podOpt
	}{
		{"plain", func(string) []podOpt { return nil }},
		{"spread", func(app string) []podOpt {
			return []podOpt{benchSpread(corev1.LabelHostname, 1), benchSpread(zoneKey, 1)}
		}},
		{"anti-affinity", func(app string) []podOpt {
			return []podOpt{podAntiAffinity(corev1.LabelHostname, "app", app)}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bc := newBenchCluster(b, 1000, 10, c.opts)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				bc.scheduleOne(b, i)
			}
		})
	}
}

// benchSpread spreads a pod's own app (matchLabelKeys app).
func benchSpread(key string, maxSkew int32) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{}, MatchLabelKeys: []string{"app"},
		})
	}
}

type benchCluster struct {
	plugins []framework.WeightedPlugin
	snap    *framework.Snapshot
	opts    func(app string) []podOpt
	scores  []framework.NodeScore
	total   []int64
}

const benchApps = 100

func newBenchCluster(tb testing.TB, numNodes, podsPerNode int, opts func(app string) []podOpt) *benchCluster {
	var objs []runtime.Object
	for a := range benchApps {
		app := fmt.Sprint("app-", a)
		meta := metav1.ObjectMeta{Name: app, Namespace: "default"}
		objs = append(objs,
			&corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app}}},
			&appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: selectorOf("app", app)}})
	}
	pl := Default(Args{})
	for i, p := range pl {
		if p.Name() == PodTopologySpreadName {
			pl[i].Plugin = newPodTopologySpread(listersWith(tb, objs...))
		}
	}
	infos := make([]*framework.NodeInfo, numNodes)
	for i := range infos {
		n := makeNode(fmt.Sprint("node-", i), nodeLabels(zoneKey, fmt.Sprint("zone-", i%10)), allocatable("cpu", "64", "memory", "256Gi"))
		n.Status.Images = []corev1.ContainerImage{{Names: []string{"app:latest"}, SizeBytes: 300 * mb}}
		infos[i] = framework.NewNodeInfo(n)
		if i%3 == 0 {
			infos[i].ImageStates["app:latest"] = &framework.ImageState{Size: 300 * mb, NumNodes: numNodes / 3}
		}
		for j := range podsPerNode {
			p := benchPod(i*podsPerNode+j, nil)
			p.Spec.NodeName = n.Name
			infos[i].AddPod(framework.NewPodInfo(p))
		}
	}
	snap := framework.NewSnapshot(infos, map[string]labels.Set{"default": {}})
	return &benchCluster{plugins: pl, snap: snap, opts: opts,
		scores: make([]framework.NodeScore, numNodes), total: make([]int64, numNodes)}
}

// benchPod is pod i of app i%benchApps, owned by its ReplicaSet.
func benchPod(i int, opts func(app string) []podOpt) *corev1.Pod {
	app := fmt.Sprint("app-", i%benchApps)
	name := fmt.Sprint(app, "-", i)
	p := makePod(name, podLabels("app", app), requests("cpu", "100m", "memory", "128Mi"), ownedBy("ReplicaSet", app))
	p.UID = types.UID(name)
	if opts != nil {
		for _, o := range opts(app) {
			o(p)
		}
	}
	return p
}

// scheduleOne runs one cycle for a new pod and places it.
func (bc *benchCluster) scheduleOne(b *testing.B, i int) {
	ctx := context.Background()
	pod := benchPod(1_000_000+i, bc.opts)
	state := framework.NewCycleState()
	var filters []framework.FilterPlugin
	for _, p := range bc.plugins {
		if pf, ok := p.Plugin.(framework.PreFilterPlugin); ok {
			st := pf.PreFilter(ctx, state, pod, bc.snap)
			if st.IsSkip() {
				continue
			} else if !st.IsSuccess() {
				b.Fatalf("PreFilter %s: %s", p.Name(), st.Message())
			}
		}
		if f, ok := p.Plugin.(framework.FilterPlugin); ok {
			filters = append(filters, f)
		}
	}
	feasible := make([]*framework.NodeInfo, 0, len(bc.snap.Nodes))
	for _, n := range bc.snap.Nodes {
		fits := true
		for _, f := range filters {
			if !f.Filter(ctx, state, pod, n).IsSuccess() {
				fits = false
				break
			}
		}
		if fits {
			feasible = append(feasible, n)
		}
	}
	if len(feasible) == 0 {
		b.Fatalf("pod %d fits nowhere", i)
	}
	best := bc.score(b, ctx, state, pod, feasible)
	pod.Spec.NodeName = best.Node.Name
	best.AddPod(framework.NewPodInfo(pod))
}

// score returns the feasible node with the highest weighted score.
func (bc *benchCluster) score(b *testing.B, ctx context.Context, state *framework.CycleState, pod *corev1.Pod, feasible []*framework.NodeInfo) *framework.NodeInfo {
	total := bc.total[:len(feasible)]
	clear(total)
	scores := bc.scores[:len(feasible)]
	for _, p := range bc.plugins {
		s, ok := p.Plugin.(framework.ScorePlugin)
		if !ok {
			continue
		}
		if ps, ok := p.Plugin.(framework.PreScorePlugin); ok {
			if st := ps.PreScore(ctx, state, pod, feasible, bc.snap); st.IsSkip() {
				continue
			} else if !st.IsSuccess() {
				b.Fatalf("PreScore %s: %s", p.Name(), st.Message())
			}
		}
		for j, n := range feasible {
			v, _ := s.Score(ctx, state, pod, n)
			scores[j] = framework.NodeScore{Name: n.Node.Name, Score: v}
		}
		if norm, ok := s.(framework.ScoreNormalizer); ok {
			norm.NormalizeScore(ctx, state, pod, scores)
		}
		for j := range feasible {
			total[j] += scores[j].Score * p.Weight
		}
	}
	best := 0
	for j := range total {
		if total[j] > total[best] {
			best = j
		}
	}
	return feasible[best]
}

// TestParallelCycles runs cycles whose Filter and Score calls run on
// several goroutines, as the scheduler's do; run with -race.
func TestParallelCycles(t *testing.T) {
	for _, spread := range []bool{false, true} {
		opts := func(app string) []podOpt {
			o := []podOpt{podAntiAffinity(corev1.LabelHostname, "app", app), preferred(false, 5, zoneKey, "app", app)}
			if spread {
				o = append(o, benchSpread(zoneKey, 2))
			}
			return o
		}
		bc := newBenchCluster(t, 200, 5, opts)
		for i := range 50 {
			bc.scheduleParallel(t, i)
		}
	}
}

// scheduleParallel is scheduleOne with Filter and Score over 4
// goroutines.
func (bc *benchCluster) scheduleParallel(t *testing.T, i int) {
	ctx := context.Background()
	pod := benchPod(2_000_000+i, bc.opts)
	state := framework.NewCycleState()
	var filters []framework.FilterPlugin
	for _, p := range bc.plugins {
		if pf, ok := p.Plugin.(framework.PreFilterPlugin); ok {
			if st := pf.PreFilter(ctx, state, pod, bc.snap); st.IsSkip() {
				continue
			} else if !st.IsSuccess() {
				t.Fatalf("PreFilter %s: %s", p.Name(), st.Message())
			}
		}
		if f, ok := p.Plugin.(framework.FilterPlugin); ok {
			filters = append(filters, f)
		}
	}
	nodes := bc.snap.Nodes
	fits := make([]bool, len(nodes))
	parallel(len(nodes), func(j int) {
		fits[j] = true
		for _, f := range filters {
			if !f.Filter(ctx, state, pod, nodes[j]).IsSuccess() {
				fits[j] = false
				return
			}
		}
	})
	var feasible []*framework.NodeInfo
	for j, ok := range fits {
		if ok {
			feasible = append(feasible, nodes[j])
		}
	}
	if len(feasible) == 0 {
		t.Fatalf("pod %d fits nowhere", i)
	}
	total := make([]int64, len(feasible))
	for _, p := range bc.plugins {
		s, ok := p.Plugin.(framework.ScorePlugin)
		if !ok {
			continue
		}
		if ps, ok := p.Plugin.(framework.PreScorePlugin); ok {
			if st := ps.PreScore(ctx, state, pod, feasible, bc.snap); st.IsSkip() {
				continue
			}
		}
		scores := make([]framework.NodeScore, len(feasible))
		parallel(len(feasible), func(j int) {
			v, _ := s.Score(ctx, state, pod, feasible[j])
			scores[j] = framework.NodeScore{Name: feasible[j].Node.Name, Score: v}
		})
		if norm, ok := s.(framework.ScoreNormalizer); ok {
			norm.NormalizeScore(ctx, state, pod, scores)
		}
		for j := range scores {
			if scores[j].Score < 0 || scores[j].Score > framework.MaxNodeScore {
				t.Fatalf("%s scored %d", p.Name(), scores[j].Score)
			}
			total[j] += scores[j].Score * p.Weight
		}
	}
	best := 0
	for j := range total {
		if total[j] > total[best] {
			best = j
		}
	}
	pod.Spec.NodeName = feasible[best].Node.Name
	feasible[best].AddPod(framework.NewPodInfo(pod))
}

// parallel calls fn(0..n-1) over 4 goroutines.
func parallel(n int, fn func(int)) {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				fn(i)
			}
		})
	}
	wg.Wait()
}
