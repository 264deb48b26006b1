package nodelifecycle

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// managedTaints are the taints this controller owns: it adds and removes
// them to match the node's conditions and spec.unschedulable.
var managedTaints = map[string]bool{
	corev1.TaintNodeNotReady: true, corev1.TaintNodeUnreachable: true, corev1.TaintNodeUnschedulable: true,
	corev1.TaintNodeMemoryPressure: true, corev1.TaintNodeDiskPressure: true, corev1.TaintNodePIDPressure: true,
	corev1.TaintNodeNetworkUnavailable: true,
}

// desiredTaints are the managed taints a node should have.
func desiredTaints(n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	add := func(key string, effects ...corev1.TaintEffect) {
		for _, e := range effects {
			out = append(out, corev1.Taint{Key: key, Effect: e})
		}
	}
	switch readyStatus(n) {
	case "":
		// A new node its agent has not reported on yet: keep pods off
		// it, but evict nothing.
		add(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule)
	case corev1.ConditionFalse:
		add(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute)
	case corev1.ConditionUnknown:
		add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute)
	}
	for _, cond := range n.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			continue
		}
		switch cond.Type {
		case corev1.NodeMemoryPressure:
			add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
		case corev1.NodeDiskPressure:
			add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
		case corev1.NodePIDPressure:
			add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
		case corev1.NodeNetworkUnavailable:
			add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
		}
	}
	if n.Spec.Unschedulable {
		add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	}
	return out
}

// readyStatus is the status of the node's Ready condition, "" if it has
// none yet.
func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func (c *Controller) nextNode(ctx context.Context) bool {
	name, quit := c.nodeQ.Get()
	if quit {
		return false
	}
	defer c.nodeQ.Done(name)
	if err := c.syncTaints(ctx, name); err != nil {
		if !apierrors.IsConflict(err) {
			c.log.Warn("sync node taints", "node", name, "err", err)
		}
		c.nodeQ.AddRateLimited(name)
		return true
	}
	c.nodeQ.Forget(name)
	return true
}

// syncTaints makes the node's managed taints match its state, keeping the
// time a NoExecute taint was added.
func (c *Controller) syncTaints(ctx context.Context, name string) error {
	n, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	want := desiredTaints(n)
	var taints []corev1.Taint
	changed := false
	for _, t := range n.Spec.Taints {
		if managedTaints[t.Key] && !hasTaint(want, t) {
			changed = true
			continue
		}
		taints = append(taints, t)
	}
	now := metav1.NewTime(c.cfg.Now())
	for _, t := range want {
		if !hasTaint(taints, t) {
			if t.Effect == corev1.TaintEffectNoExecute {
				t.TimeAdded = &now
			}
			taints = append(taints, t)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	node := n.DeepCopy()
	node.Spec.Taints = taints
	_, err = c.client.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
	return err
}

func hasTaint(list []corev1.Taint, t corev1.Taint) bool {
	for _, x := range list {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

func sameNoExecute(a, b []corev1.Taint) bool {
	count := func(ts []corev1.Taint) (n int) {
		for _, t := range ts {
			if t.Effect == corev1.TaintEffectNoExecute {
				n++
			}
		}
		return n
	}
	if count(a) != count(b) {
		return false
	}
	for _, t := range a {
		if t.Effect == corev1.TaintEffectNoExecute && !hasTaint(b, t) {
			return false
		}
	}
	return true
}

func (c *Controller) nextPod(ctx context.Context) bool {
	key, quit := c.podQ.Get()
	if quit {
		return false
	}
	defer c.podQ.Done(key)
	after, err := c.syncPod(ctx, key)
	if err != nil {
		c.log.Warn("taint eviction", "pod", key.String(), "err", err)
		c.podQ.AddRateLimited(key)
		return true
	}
	c.podQ.Forget(key)
	if after > 0 {
		c.podQ.AddAfter(key, after)
	}
	return true
}

// syncPod evicts a pod whose node has a NoExecute taint it does not
// tolerate, or tolerates for a time that has passed; otherwise it returns
// when to look again.
func (c *Controller) syncPod(ctx context.Context, key types.NamespacedName) (time.Duration, error) {
	obj, ok, err := c.pods.GetByKey(key.String())
	if err != nil || !ok {
		return 0, err
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName == "" {
		return 0, nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if err != nil {
		return 0, nil // gone: pod garbage collection's business
	}
	wait, evict := evictionDelay(pod, node.Spec.Taints, c.cfg.Now())
	if !evict {
		return 0, nil
	}
	if wait > 0 {
		return wait, nil
	}
	return 0, c.evict(ctx, pod)
}

// evictionDelay says whether pod must leave a node with these taints, and
// how long it may still stay: the shortest tolerationSeconds among the
// NoExecute taints, counted from when each was added.
func evictionDelay(pod *corev1.Pod, taints []corev1.Taint, now time.Time) (time.Duration, bool) {
	evict := false
	var wait time.Duration = -1
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tol := tolerating(pod, t)
		if tol == nil {
			return 0, true
		}
		if tol.TolerationSeconds == nil {
			continue // tolerated forever
		}
		evict = true
		added := now
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		d := added.Add(time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second).Sub(now)
		if wait < 0 || d < wait {
			wait = d
		}
	}
	return max(wait, 0), evict
}

// tolerating returns the toleration of the pod that tolerates t for the
// shortest time, or nil.
func tolerating(pod *corev1.Pod, t *corev1.Taint) *corev1.Toleration {
	var best *corev1.Toleration
	for i := range pod.Spec.Tolerations {
		tol := &pod.Spec.Tolerations[i]
		if !tol.ToleratesTaint(klog.Background(), t, false) {
			continue
		}
		if tol.TolerationSeconds == nil {
			if best == nil {
				best = tol
			}
			continue
		}
		if best == nil || best.TolerationSeconds == nil || *tol.TolerationSeconds < *best.TolerationSeconds {
			best = tol
		}
	}
	return best
}

// evict marks the pod with the DisruptionTarget condition and deletes it,
// as the taint eviction controller does.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod) error {
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"conditions": []interface{}{
		map[string]interface{}{"type": corev1.DisruptionTarget, "status": corev1.ConditionTrue, "reason": "DeletionByTaintManager",
			"message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": c.cfg.Now().UTC().Format(time.RFC3339)},
	}}})
	_, err := c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c.recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s/%s", pod.Namespace, pod.Name)
	err = c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	c.log.Info("evicted pod from tainted node", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	return err
}
