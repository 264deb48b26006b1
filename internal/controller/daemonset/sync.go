package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// syncState is what one sync of a DaemonSet works from.
type syncState struct {
	key    string
	ds     *appsv1.DaemonSet
	nodes  []*corev1.Node
	byNode map[string][]*corev1.Pod
	hash   string
	// requeue is the shortest wait asked for by failed-pod back-off or
	// pods becoming available.
	requeue time.Duration
}

func (s *syncState) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

// sync brings the DaemonSet with the given key to its spec and writes its
// status. It returns how long until it wants to be synced again (0: no
// need).
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get daemonset: %w", err)
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		c.log.Warn("invalid selector, skipping", "namespace", ns, "name", name, "err", err)
		return 0, nil
	}
	if sel.Empty() {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, "SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
		return 0, nil
	}
	if ds.DeletionTimestamp != nil {
		return 0, nil
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return 0, fmt.Errorf("list nodes: %w", err)
	}
	cur, old, err := c.history(ctx, ds, sel)
	if err != nil {
		return 0, err
	}
	s := &syncState{key: key, ds: ds, nodes: nodes, hash: cur.Labels[hashLabel]}
	if s.byNode, err = c.podsByNode(ctx, ds, sel); err != nil {
		return 0, err
	}
	if !c.exp.Satisfied(key) {
		return c.finish(ctx, s, nil)
	}
	acted, err := c.manage(ctx, s)
	if err == nil && !acted && ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
		err = c.rollingUpdate(ctx, s)
	}
	if err == nil {
		err = c.cleanupHistory(ctx, ds, old, s.byNode)
	}
	return c.finish(ctx, s, err)
}

// finish writes the status and returns the sync's result.
func (c *Controller) finish(ctx context.Context, s *syncState, syncErr error) (time.Duration, error) {
	if err := c.updateStatus(ctx, s); err != nil {
		return 0, errors.Join(syncErr, err)
	}
	return s.requeue, syncErr
}

// manage creates the pods missing on nodes that should run one and deletes
// those on nodes that should not, failed ones and duplicates. acted says
// whether it issued any create or delete.
func (c *Controller) manage(ctx context.Context, s *syncState) (acted bool, err error) {
	var needPods []string
	var victims []*corev1.Pod
	for _, node := range s.nodes {
		need, del := c.podsShouldBeOnNode(s, node)
		if need {
			needPods = append(needPods, node.Name)
		}
		victims = append(victims, del...)
	}
	victims = append(victims, unscheduledOnMissingNodes(s.nodes, s.byNode)...)
	if len(needPods) == 0 && len(victims) == 0 {
		return false, nil
	}
	return true, c.syncNodes(ctx, s, victims, needPods)
}

// podsShouldBeOnNode says whether node needs a new pod of s.ds and which of
// the pods there should go.
func (c *Controller) podsShouldBeOnNode(s *syncState, node *corev1.Node) (need bool, victims []*corev1.Pod) {
	want := nodePlacement(node, s.ds)
	pods, exists := s.byNode[node.Name]
	switch {
	case want.shouldRun && !exists:
		return true, nil
	case want.shouldContinueRunning:
		var running []*corev1.Pod
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodFailed:
				if c.failedPodReady(s, node.Name, p) {
					victims = append(victims, p)
				}
			case corev1.PodSucceeded:
				victims = append(victims, p)
			default:
				running = append(running, p)
			}
		}
		// While surging a node must keep a live pod: a failed one is
		// replaced at once.
		need = len(running) == 0 && want.shouldRun && surgeAllowed(s.ds) > 0
		return need, append(victims, c.excessPods(s, running)...)
	case exists:
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				victims = append(victims, p)
			}
		}
	}
	return false, victims
}

// failedPodReady says whether the failed pod p may be deleted now, or is
// waiting out the back-off of its node (and requeues for then).
func (c *Controller) failedPodReady(s *syncState, node string, p *corev1.Pod) bool {
	key := string(s.ds.UID) + "/" + node
	now := c.backoff.Clock.Now()
	if c.backoff.IsInBackOffSinceUpdate(key, now) {
		s.requeueAfter(c.backoff.Get(key))
		return false
	}
	c.backoff.Next(key, now)
	c.recorder.Eventf(s.ds, corev1.EventTypeWarning, "FailedDaemonPod",
		"Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node)
	return true
}

// excessPods returns the running pods of a node beyond the one (or, while
// surging, two) to keep. Without surge the oldest stays. With surge the
// oldest pod of the current revision and the oldest other one stay, and
// the other one goes too once it is not ready or the current one is
// available.
func (c *Controller) excessPods(s *syncState, running []*corev1.Pod) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	sortOldestFirst(running)
	if surgeAllowed(s.ds) == 0 {
		return running[1:]
	}
	var cur, old *corev1.Pod
	var out []*corev1.Pod
	for _, p := range running {
		switch {
		case p.Labels[hashLabel] == s.hash && cur == nil:
			cur = p
		case p.Labels[hashLabel] != s.hash && old == nil:
			old = p
		default:
			out = append(out, p)
		}
	}
	if cur != nil && old != nil && (!isReady(old) || isAvailable(cur, s.ds.Spec.MinReadySeconds, c.now())) {
		out = append(out, old)
	}
	return out
}

// unscheduledOnMissingNodes returns the unscheduled pods pinned to nodes
// that do not exist: the scheduler can never place them.
func unscheduledOnMissingNodes(nodes []*corev1.Node, byNode map[string][]*corev1.Pod) []*corev1.Pod {
	exists := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		exists[n.Name] = true
	}
	var out []*corev1.Pod
	names := make([]string, 0, len(byNode))
	for n := range byNode {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if exists[n] {
			continue
		}
		for _, p := range byNode[n] {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// syncNodes deletes victims and creates a pod on each of the nodes, at most
// burst of each. Creates and deletes are expected before they are issued,
// so pod events racing the requests count; those that fail are taken back.
func (c *Controller) syncNodes(ctx context.Context, s *syncState, victims []*corev1.Pod, nodes []string) error {
	victims = victims[:min(len(victims), c.burst)]
	nodes = nodes[:min(len(nodes), c.burst)]
	keys := make([]string, len(victims))
	for i, p := range victims {
		keys[i] = podKey(p)
	}
	c.exp.Expect(s.key, len(nodes), keys)
	created, createErr := slowStart(len(nodes), 1, func(i int) error { return c.createPod(ctx, s, nodes[i]) })
	if skipped := len(nodes) - created; skipped > 0 {
		c.exp.CreationsObserved(s.key, skipped)
	}
	return errors.Join(createErr, c.deletePods(ctx, s, victims))
}

// createPod creates s.ds's pod for node. A namespace being deleted
// refuses all creates; that is not a failure of the DaemonSet's.
func (c *Controller) createPod(ctx context.Context, s *syncState, node string) error {
	pod := newPod(s.ds, node, s.hash)
	created, err := c.client.CoreV1().Pods(s.ds.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		c.recorder.Eventf(s.ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create pod on node %s: %w", node, err)
	}
	c.log.Debug("created pod", "namespace", s.ds.Namespace, "daemonset", s.ds.Name, "pod", created.Name, "node", node)
	c.recorder.Eventf(s.ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.Name)
	return nil
}

// deletePods deletes the pods in parallel and returns the errors other
// than NotFound.
func (c *Controller) deletePods(ctx context.Context, s *syncState, victims []*corev1.Pod) error {
	errs := make([]error, len(victims))
	var wg sync.WaitGroup
	for i, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
			if err == nil {
				c.recorder.Eventf(s.ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
				return
			}
			c.exp.DeletionObserved(s.key, podKey(p))
			if !apierrors.IsNotFound(err) {
				c.recorder.Eventf(s.ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				errs[i] = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// slowStart calls fn(0..count-1) in batches of 1, 2, 4, ... (from
// initial), the calls of a batch in parallel, and stops after the first
// batch with a failure. It returns the number of successful calls and the
// first error.
func slowStart(count, initial int, fn func(i int) error) (int, error) {
	done, next := 0, 0
	for batch := min(count, initial); batch > 0; batch = min(2*batch, count-next) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for i := next; i < next+batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(i); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		next += batch
		done += batch - len(errs)
		if len(errs) > 0 {
			return done, <-errs
		}
	}
	return done, nil
}
