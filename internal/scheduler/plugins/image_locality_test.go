package plugins

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// withImages is a snapshot of nodes a, b and c where images[name] lists
// the nodes that have that image, of size sizes[name] MiB.
func withImages(images map[string][]string, sizes map[string]int64) *framework.Snapshot {
	infos := map[string]*framework.NodeInfo{}
	var list []*framework.NodeInfo
	for _, name := range []string{"a", "b", "c"} {
		infos[name] = framework.NewNodeInfo(makeNode(name))
		list = append(list, infos[name])
	}
	for img, on := range images {
		st := &framework.ImageState{Size: sizes[img] * mb, NumNodes: len(on)}
		for _, n := range on {
			infos[n].ImageStates[img] = st
		}
	}
	return framework.NewSnapshot(list, map[string]labels.Set{})
}

func images(names ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = nil
		for _, n := range names {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: n})
		}
	}
}

func TestImageLocalityScore(t *testing.T) {
	cases := []struct {
		name   string
		images map[string][]string
		sizes  map[string]int64
		pod    *corev1.Pod
		want   map[string]int64
	}{
		// 500 MiB on 2 of 3 nodes: 333 MiB; (333−23)/(1000−23) → 31.
		{"image on two nodes", map[string][]string{"big:latest": {"a", "b"}}, map[string]int64{"big:latest": 500},
			makePod("p", images("big")), map[string]int64{"a": 31, "b": 31, "c": 0}},
		{"below the minimum", map[string][]string{"small:latest": {"a", "b", "c"}}, map[string]int64{"small:latest": 10},
			makePod("p", images("small")), map[string]int64{"a": 0, "b": 0, "c": 0}},
		{"tagged names kept", map[string][]string{"big:v1": {"a"}, "big:latest": {"b"}}, map[string]int64{"big:v1": 1500, "big:latest": 1500},
			makePod("p", images("big:v1")), map[string]int64{"a": 48, "b": 0, "c": 0}},
		// Two containers: the maximum is 2000 MiB. 2 × 1000/3 = 666 MiB → 32.
		{"two containers", map[string][]string{"x:latest": {"a"}, "y:latest": {"a"}}, map[string]int64{"x:latest": 1000, "y:latest": 1000},
			makePod("p", images("x", "y")), map[string]int64{"a": 32, "b": 0, "c": 0}},
		{"registry port is not a tag", map[string][]string{"reg:5000/app:latest": {"c"}}, map[string]int64{"reg:5000/app:latest": 3300},
			makePod("p", images("reg:5000/app")), map[string]int64{"a": 0, "b": 0, "c": 100}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkScores(t, runScore(t, &imageLocality{}, c.pod, withImages(c.images, c.sizes)), c.want)
		})
	}
}
