package plugins

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// ImageLocality's thresholds: below 23 MiB of images present a node
// scores 0; at 1000 MiB per container it scores 100.
const (
	mb                    int64 = 1 << 20
	imageMinThreshold           = 23 * mb
	imageMaxPerContainer        = 1000 * mb
	imageLocalityPreScore       = "PreScore" + ImageLocalityName
)

// imageLocality prefers nodes that already have the pod's images, by
// their size, scaled down for images that many nodes have (so pods do not
// all crowd onto the nodes that pulled first).
type imageLocality struct {
	prescore stateSlot[*imageState]
}

func (pl *imageLocality) Name() string { return ImageLocalityName }

// imageState is the pod's image names (with ":latest" where they have no
// tag) and the number of nodes in the cluster.
type imageState struct {
	images     []string
	totalNodes int
	// maxThreshold is imageMaxPerContainer per container.
	maxThreshold int64
}

// PreScore normalizes the pod's image names once.
func (pl *imageLocality) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	s := &imageState{totalNodes: len(snap.Nodes)}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			s.images = append(s.images, normalizedImageName(cs[i].Image))
		}
	}
	s.maxThreshold = imageMaxPerContainer * int64(len(s.images))
	pl.prescore.write(state, imageLocalityPreScore, s)
	return nil
}

// normalizedImageName adds the ":latest" tag to a name without a tag.
func normalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		return name + ":latest"
	}
	return name
}

// Score sums the sizes of the pod's images on the node, each times the
// share of nodes that have it, and maps the sum from the thresholds onto
// 0..100.
func (pl *imageLocality) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	s, ok := pl.prescore.read(state, imageLocalityPreScore)
	if !ok {
		return 0, missingState(ImageLocalityName, imageLocalityPreScore)
	}
	if s.totalNodes == 0 || s.maxThreshold <= imageMinThreshold {
		return 0, nil
	}
	var sum int64
	for _, img := range s.images {
		if st, ok := n.ImageStates[img]; ok {
			spread := float64(st.NumNodes) / float64(s.totalNodes)
			sum += int64(float64(st.Size) * spread)
		}
	}
	sum = min(max(sum, imageMinThreshold), s.maxThreshold)
	return framework.MaxNodeScore * (sum - imageMinThreshold) / (s.maxThreshold - imageMinThreshold), nil
}
