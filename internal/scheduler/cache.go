package scheduler

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// assumeTTL is how long an assumed pod (bound by us, not yet seen bound
// in the informer) is kept after its binding call returned.
const assumeTTL = 30 * time.Second

// cachedPod is a pod the cache counts on a node.
type cachedPod struct {
	info *framework.PodInfo
	node string
	// assumed: the scheduler placed it; the informer has not confirmed.
	assumed bool
	// deadline for an assumed pod whose binding finished.
	deadline time.Time
}

// cache is the cluster as the scheduler sees it: every node with the pods
// bound or assumed on it and their sums, kept current from informer events
// rather than recomputed per pod. Scheduling cycles read it under the read
// lock; event handlers write under the write lock.
type clusterCache struct {
	mu    sync.RWMutex
	nodes map[string]*framework.NodeInfo // includes nodes only pods name (Node nil)
	pods  map[types.UID]*cachedPod
	ns    map[string]labels.Set
	// snap is rebuilt lazily when the node set, or the set of nodes with
	// affinity pods, changed.
	snap  *framework.Snapshot
	dirty bool
	now   func() time.Time
}

func newClusterCache(now func() time.Time) *clusterCache {
	return &clusterCache{nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*cachedPod{}, ns: map[string]labels.Set{}, dirty: true, now: now}
}

func (c *clusterCache) nodeLocked(name string) *framework.NodeInfo {
	n, ok := c.nodes[name]
	if !ok {
		n = &framework.NodeInfo{UsedPorts: map[framework.HostPort]bool{}, ImageStates: map[string]*framework.ImageState{}}
		c.nodes[name] = n
	}
	return n
}

// AddNode adds or updates a node.
func (c *clusterCache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodeLocked(node.Name)
	if n.Node == nil {
		c.dirty = true
	}
	old := n.Node
	n.SetNode(node)
	if old == nil || !sameImages(old, node) {
		c.setImagesLocked(n, old)
	}
}

// RemoveNode forgets a node; its pods stay counted until they go.
func (c *clusterCache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	c.dropImagesLocked(n)
	if len(n.Pods) == 0 {
		delete(c.nodes, node.Name)
	} else {
		n.Node = nil
	}
	c.dirty = true
}

func sameImages(a, b *corev1.Node) bool {
	if len(a.Status.Images) != len(b.Status.Images) {
		return false
	}
	for i := range a.Status.Images {
		x, y := &a.Status.Images[i], &b.Status.Images[i]
		if x.SizeBytes != y.SizeBytes || len(x.Names) != len(y.Names) {
			return false
		}
		for j := range x.Names {
			if x.Names[j] != y.Names[j] {
				return false
			}
		}
	}
	return true
}

// setImagesLocked rebuilds a node's image states; ImageState.NumNodes is
// shared between nodes with the same image.
func (c *clusterCache) setImagesLocked(n *framework.NodeInfo, old *corev1.Node) {
	if old != nil {
		c.dropImagesLocked(n)
	}
	n.ImageStates = map[string]*framework.ImageState{}
	for _, img := range n.Node.Status.Images {
		for _, name := range img.Names {
			st := c.imageStateLocked(name, img.SizeBytes)
			st.NumNodes++
			n.ImageStates[name] = st
		}
	}
}

func (c *clusterCache) dropImagesLocked(n *framework.NodeInfo) {
	for _, st := range n.ImageStates {
		st.NumNodes--
	}
	n.ImageStates = map[string]*framework.ImageState{}
}

// imageStateLocked finds the shared state of an image name on any node.
func (c *clusterCache) imageStateLocked(name string, size int64) *framework.ImageState {
	for _, n := range c.nodes {
		if st, ok := n.ImageStates[name]; ok {
			st.Size = size
			return st
		}
	}
	return &framework.ImageState{Size: size}
}

// AddPod counts a bound pod; it confirms the pod if it was assumed.
func (c *clusterCache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[pod.UID]; ok {
		if cp.node == pod.Spec.NodeName && !podChanged(cp.info.Pod, pod) {
			cp.info.Pod = pod
			cp.assumed = false
			return
		}
		c.removeLocked(cp)
	}
	c.addLocked(pod, false)
}

// podChanged says whether a bound pod changed in a way the cache counts
// (labels, requests, ports, affinity): status updates are not.
func podChanged(old, pod *corev1.Pod) bool {
	if old.Generation != pod.Generation || !labelsEqual(old.Labels, pod.Labels) || len(old.Spec.Containers) != len(pod.Spec.Containers) {
		return true
	}
	for i := range old.Spec.Containers {
		if !equality.Semantic.DeepEqual(old.Spec.Containers[i].Resources, pod.Spec.Containers[i].Resources) {
			return true // resized in place
		}
	}
	return false
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// RemovePod uncounts a pod.
func (c *clusterCache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[pod.UID]; ok {
		c.removeLocked(cp)
	}
}

// Assume counts a pod on the node the scheduler chose, before the binding
// is confirmed; it returns the info to forget it by.
func (c *clusterCache) Assume(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[pod.UID]; ok {
		c.removeLocked(cp)
	}
	c.addLocked(pod, true)
}

// FinishBinding starts an assumed pod's expiry clock.
func (c *clusterCache) FinishBinding(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[uid]; ok && cp.assumed {
		cp.deadline = c.now().Add(assumeTTL)
	}
}

// Forget uncounts an assumed pod whose binding failed.
func (c *clusterCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[uid]; ok && cp.assumed {
		c.removeLocked(cp)
	}
}

// IsAssumedOrBound says the cache already has the pod on a node.
func (c *clusterCache) IsAssumedOrBound(uid types.UID) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.pods[uid]
	return ok
}

// Expire drops assumed pods whose binding finished long ago but which the
// informer never showed bound.
func (c *clusterCache) Expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, cp := range c.pods {
		if cp.assumed && !cp.deadline.IsZero() && now.After(cp.deadline) {
			c.removeLocked(cp)
		}
	}
}

func (c *clusterCache) addLocked(pod *corev1.Pod, assumed bool) {
	pi := framework.NewPodInfo(pod)
	n := c.nodeLocked(pod.Spec.NodeName)
	hadAffinity, hadAnti := len(n.PodsWithAffinity) > 0, len(n.PodsWithRequiredAntiAffinity) > 0
	n.AddPod(pi)
	if hadAffinity != (len(n.PodsWithAffinity) > 0) || hadAnti != (len(n.PodsWithRequiredAntiAffinity) > 0) {
		c.dirty = true
	}
	c.pods[pod.UID] = &cachedPod{info: pi, node: pod.Spec.NodeName, assumed: assumed}
}

func (c *clusterCache) removeLocked(cp *cachedPod) {
	delete(c.pods, cp.info.Pod.UID)
	n, ok := c.nodes[cp.node]
	if !ok {
		return
	}
	hadAffinity, hadAnti := len(n.PodsWithAffinity) > 0, len(n.PodsWithRequiredAntiAffinity) > 0
	n.RemovePod(cp.info.Pod)
	if hadAffinity != (len(n.PodsWithAffinity) > 0) || hadAnti != (len(n.PodsWithRequiredAntiAffinity) > 0) {
		c.dirty = true
	}
	if n.Node == nil && len(n.Pods) == 0 {
		delete(c.nodes, cp.node)
	}
}

// SetNamespace records a namespace's labels (for namespaceSelector).
func (c *clusterCache) SetNamespace(ns *corev1.Namespace) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ns[ns.Name] = labels.Set(ns.Labels)
	c.dirty = true
}

// RemoveNamespace forgets a namespace.
func (c *clusterCache) RemoveNamespace(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ns, name)
	c.dirty = true
}

// RLock takes the read lock for a scheduling cycle and returns the
// snapshot the cycle reads. Call RUnlock when done.
func (c *clusterCache) RLock() *framework.Snapshot {
	c.mu.RLock()
	if !c.dirty {
		return c.snap
	}
	c.mu.RUnlock()
	c.mu.Lock()
	if c.dirty {
		nodes := make([]*framework.NodeInfo, 0, len(c.nodes))
		for _, n := range c.nodes {
			if n.Node != nil {
				nodes = append(nodes, n)
			}
		}
		ns := make(map[string]labels.Set, len(c.ns))
		for k, v := range c.ns {
			ns[k] = v
		}
		c.snap = framework.NewSnapshot(nodes, ns)
		c.dirty = false
	}
	c.mu.Unlock()
	// Between Unlock and RLock a writer may have dirtied the snapshot
	// again; the cycle then reads one a moment old, which the assume and
	// bind steps tolerate as kube-scheduler's do.
	c.mu.RLock()
	return c.snap
}

// RUnlock ends a cycle's read.
func (c *clusterCache) RUnlock() { c.mu.RUnlock() }

// NodeCount is the number of nodes.
func (c *clusterCache) NodeCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, ni := range c.nodes {
		if ni.Node != nil {
			n++
		}
	}
	return n
}
